// The embedded worklist index: Maps in this process, the same semantics as the Redis index.
import type { Region } from '../inputs/index.js';
import { byLeadId, ineligibility, listOf, listsFor } from './candidates.js';
import { checkRegion, closedStatusesOf, type WorklistIndexOptions } from './index-options.js';
import type { ClosableWorklistIndex, WorklistLead } from './types.js';

class InProcessWorklistIndex implements ClosableWorklistIndex {
  private readonly leads = new Map<string, { lead: WorklistLead; list: string | null }>();
  private readonly lists = new Map<string, Set<string>>();
  private readonly closedStatuses: ReadonlySet<string>;

  constructor(
    readonly region: Region,
    opts: WorklistIndexOptions,
  ) {
    this.closedStatuses = closedStatusesOf(opts);
  }

  async upsert(leads: WorklistLead[]): Promise<void> {
    checkRegion(this.region, leads);
    for (const lead of leads) {
      // A lead that can never be listed is dropped rather than kept: converted leads are most of a CRM.
      if (ineligibility(lead, this.closedStatuses) !== null) {
        this.drop(lead.leadId);
        continue;
      }
      const list = listOf(lead);
      const previous = this.leads.get(lead.leadId);
      if (previous && previous.list !== list && previous.list !== null)
        this.lists.get(previous.list)?.delete(lead.leadId);
      this.leads.set(lead.leadId, { lead: structuredClone(lead), list });
      if (list !== null) {
        let members = this.lists.get(list);
        if (!members) this.lists.set(list, (members = new Set()));
        members.add(lead.leadId);
      }
    }
  }

  async remove(leadIds: string[]): Promise<void> {
    for (const id of leadIds) this.drop(id);
  }

  private drop(leadId: string): void {
    const previous = this.leads.get(leadId);
    if (!previous) return;
    if (previous.list !== null) this.lists.get(previous.list)?.delete(leadId);
    this.leads.delete(leadId);
  }

  async candidatesFor(repId: string, territory: string | null): Promise<WorklistLead[]> {
    const out: WorklistLead[] = [];
    for (const list of listsFor(repId, territory))
      for (const id of this.lists.get(list) ?? []) {
        const lead = this.leads.get(id)?.lead;
        if (lead && ineligibility(lead, this.closedStatuses, this.region) === null)
          out.push(structuredClone(lead));
      }
    return out.sort(byLeadId);
  }

  async close(): Promise<void> {}
}

export function createInProcessWorklistIndex(
  region: Region,
  opts: WorklistIndexOptions = {},
): ClosableWorklistIndex {
  return new InProcessWorklistIndex(region, opts);
}
