// Stands in for the org's own lead lifecycle calls that Leadrank never makes but must observe: SOAP API
// `convertLead()` (IsConverted, ConvertedDate, ConvertedAccountId, ConvertedOpportunityId, the converted
// status; a new Account and Opportunity unless given/declined) and `merge()` (the losing records are deleted
// with MasterRecordId set to the winner, which queryAll shows; the winner is updated). Served on the admin
// router (outside /services, not counted), since the simulator speaks no SOAP.
import express, { type Router } from 'express';
import { z } from 'zod';
import type { SimulatorContext } from './context.js';
import type { OrgStore, SaveResult } from './store/org-store.js';

const ID = z.string().regex(/^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$/, 'must be a 15- or 18-character Id');

export const convertSchema = z.strictObject({
  leadId: ID,
  /** An existing account to attach the lead to; by default a new Account named after Lead.Company. */
  accountId: ID.optional(),
  doNotCreateOpportunity: z.boolean().default(false),
  convertedStatus: z.string().min(1).default('Closed - Converted'),
});
export type ConvertRequest = z.input<typeof convertSchema>;

export const mergeSchema = z.strictObject({
  masterRecordId: ID,
  /** Up to two: merge() combines at most three records in one request. */
  recordToMergeIds: z.array(ID).min(1).max(2),
});
export type MergeRequest = z.infer<typeof mergeSchema>;

export interface ConvertResult {
  leadId: string;
  accountId: string;
  opportunityId: string | null;
}

export class LifecycleError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'LifecycleError';
  }
}

function firstOk(results: SaveResult[], what: string): string {
  const r = results[0];
  if (!r?.success || !r.id) {
    const e = r?.errors[0];
    throw new LifecycleError(e?.statusCode ?? 'UNKNOWN_EXCEPTION', `${what}: ${e?.message ?? 'failed'}`);
  }
  return r.id;
}

/** convertLead() for one lead, in one transaction: nothing is written when any step fails. */
export function convertLead(store: OrgStore, input: ConvertRequest): ConvertResult {
  const req = convertSchema.parse(input);
  return store.transaction(() => {
    const lead = store.retrieve('Lead', req.leadId, ['Id', 'Company', 'IsConverted', 'Data_Region__c']);
    if (!lead) throw new LifecycleError('INVALID_CROSS_REFERENCE_KEY', `no lead ${req.leadId}`);
    if (lead.IsConverted === true)
      throw new LifecycleError('CANNOT_UPDATE_CONVERTED_LEAD', 'lead already converted');
    const region = (lead.Data_Region__c as string | null) ?? null;
    const accountId =
      req.accountId ??
      firstOk(
        store.insert('Account', [
          { Name: String(lead.Company), ...(region ? { Data_Region__c: region } : {}) },
        ]),
        'account',
      );
    const today = store.now();
    const day = today.toISOString().slice(0, 10);
    const opportunityId = req.doNotCreateOpportunity
      ? null
      : firstOk(
          store.insert('Opportunity', [
            {
              Name: `${String(lead.Company)}-`,
              StageName: 'Qualification',
              CloseDate: new Date(today.getTime() + 30 * 86_400_000).toISOString().slice(0, 10),
              AccountId: accountId,
            },
          ]),
          'opportunity',
        );
    firstOk(
      store.update(
        'Lead',
        [
          {
            Id: req.leadId,
            IsConverted: true,
            ConvertedDate: day,
            ConvertedAccountId: accountId,
            ConvertedOpportunityId: opportunityId,
            Status: req.convertedStatus,
          },
        ],
        { system: true },
      ),
      'lead',
    );
    return { leadId: lead.Id as string, accountId, opportunityId };
  });
}

/** merge() of Leads: each loser gets MasterRecordId and is deleted (soft: queryAll sees it); the master is updated. */
export function mergeLeads(store: OrgStore, input: MergeRequest): { id: string; mergedRecordIds: string[] } {
  const req = mergeSchema.parse(input);
  return store.transaction(() => {
    const master = store.retrieve('Lead', req.masterRecordId, ['Id']);
    if (!master) throw new LifecycleError('INVALID_CROSS_REFERENCE_KEY', `no lead ${req.masterRecordId}`);
    const merged: string[] = [];
    for (const loserId of req.recordToMergeIds) {
      const loser = store.retrieve('Lead', loserId, ['Id']);
      if (!loser) throw new LifecycleError('INVALID_CROSS_REFERENCE_KEY', `no lead ${loserId}`);
      if (loser.Id === master.Id)
        throw new LifecycleError('INVALID_OPERATION', 'cannot merge a record with itself');
      firstOk(store.update('Lead', [{ Id: loserId, MasterRecordId: master.Id }], { system: true }), 'loser');
      firstOk(store.delete('Lead', [loserId]), 'loser delete');
      merged.push(loser.Id as string);
    }
    firstOk(store.update('Lead', [{ Id: master.Id }]), 'master');
    return { id: master.Id as string, mergedRecordIds: merged };
  });
}

/** `POST /__admin/leads/convert` and `/__admin/leads/merge`: JSON in, JSON out, 400 naming the field. */
export function leadLifecycleRouter(ctx: SimulatorContext): Router {
  const router = express.Router();
  router.use(express.json());
  const handle =
    <T>(schema: z.ZodType<T>, run: (body: T) => unknown): express.RequestHandler =>
    (req, res) => {
      const parsed = schema.safeParse(req.body ?? {});
      if (!parsed.success) {
        res.status(400).json({ error: 'invalid request', details: parsed.error.issues });
        return;
      }
      try {
        res.json(run(parsed.data));
      } catch (error) {
        if (!(error instanceof LifecycleError)) throw error;
        res.status(400).json([{ errorCode: error.errorCode, message: error.message }]);
      }
    };
  router.post(
    '/convert',
    handle(convertSchema, (body) => convertLead(ctx.store, body)),
  );
  router.post(
    '/merge',
    handle(mergeSchema, (body) => mergeLeads(ctx.store, body)),
  );
  return router;
}
