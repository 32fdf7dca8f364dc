import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeBayesAuc } from '../src/bayes-auc.js';
import { COUNTRY_BY_NAME, EVENT_TYPES, SENIORITY_BY_TITLE, type EventType } from '../src/catalog.js';
import {
  ACCOUNT_FIELDS,
  EVENT_FIELDS,
  LEAD_FIELDS,
  OPPORTUNITY_FIELDS,
  TASK_FIELDS,
  LEAD_HISTORY_FIELDS,
  USER_FIELDS,
} from '../src/fields.js';
import { DAY_MS, parseDateTime } from '../src/format.js';
import { FILES, generateDataset, type Manifest } from '../src/generate.js';
import {
  HazardSchedule,
  bayesProbabilityFromCounts,
  computeEta,
  snapshotLabel,
  standardSnapshotTimes,
  type LeadGroundTruth,
} from '../src/ground-truth.js';
import { isValidId18 } from '../src/ids.js';
import { rocAuc } from '../src/roc-auc.js';
import { listFiles, readAll, readCsvGz } from './helpers.js';

type Rec = Record<string, unknown>;
interface Ev {
  eventId: string;
  leadId: string;
  type: string;
  occurredAt: string;
  region: string;
  source: string;
  properties: Record<string, unknown>;
}

const base = { dataEnd: '2026-11-24T00:00:00Z', euShare: 0.35, historyDays: 540 };
let root: string;
let dir: string;
let manifest: Manifest;
let users: Rec[];
let accounts: Rec[];
let active: Rec[];
let historical: Rec[];
let opps: Rec[];
let tasks: Rec[];
let history: Rec[];
let events: Ev[];
let truths: LeadGroundTruth[];
const dataEndMs = Date.parse(base.dataEnd);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'crm-gen-'));
  dir = join(root, 'main');
  manifest = await generateDataset({ ...base, outDir: dir, seed: 7, active: 3000, historical: 12000 });
  [users, accounts, active, historical, opps, tasks, events, truths, history] = await Promise.all([
    readAll(join(dir, FILES.users)),
    readAll(join(dir, FILES.accounts)),
    readAll(join(dir, FILES.leads)),
    readAll(join(dir, FILES.leadsHistorical)),
    readAll(join(dir, FILES.opportunities)),
    readAll(join(dir, FILES.tasks)),
    readAll<Ev>(join(dir, FILES.events)),
    readAll<LeadGroundTruth>(join(dir, FILES.groundTruth)),
    readAll(join(dir, FILES.leadHistory)),
  ]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('determinism', () => {
  it('same seed → byte-identical files; different seed → different files', async () => {
    const small = { ...base, active: 200, historical: 800 };
    const a = join(root, 'a');
    const b = join(root, 'b');
    const c = join(root, 'c');
    await generateDataset({ ...small, outDir: a, seed: 11 });
    await generateDataset({ ...small, outDir: b, seed: 11 });
    await generateDataset({ ...small, outDir: c, seed: 12 });
    const files = await listFiles(a);
    expect(files.length).toBeGreaterThan(1000);
    expect(await listFiles(b)).toEqual(files);
    for (const f of files) {
      expect((await readFile(join(b, f))).equals(await readFile(join(a, f))), f).toBe(true);
    }
    for (const f of [FILES.leadsHistorical, FILES.events, FILES.users, FILES.manifest]) {
      expect((await readFile(join(c, f))).equals(await readFile(join(a, f))), f).toBe(false);
    }
  });
});

describe('Salesforce records', () => {
  it('carry only the allowed fields, with valid 18-char Ids of the right prefix', () => {
    const check = (rows: Rec[], fields: readonly string[], prefix: string): void => {
      expect(rows.length).toBeGreaterThan(0);
      const extra = new Set(rows.flatMap((r) => Object.keys(r).filter((k) => !fields.includes(k))));
      expect([...extra]).toEqual([]);
      const badIds = rows.filter(
        (r) => !isValidId18(r.Id as string) || (r.Id as string).slice(0, 3) !== prefix,
      );
      expect(badIds).toEqual([]);
    };
    check(users, USER_FIELDS, '005');
    check(accounts, ACCOUNT_FIELDS, '001');
    check(active, LEAD_FIELDS, '00Q');
    check(historical, LEAD_FIELDS, '00Q');
    check(opps, OPPORTUNITY_FIELDS, '006');
    check(tasks, TASK_FIELDS, '00T');
    check(history, LEAD_HISTORY_FIELDS, '017');
    const all = [users, accounts, active, historical, opps, tasks, history]
      .flat()
      .map((r) => (r.Id as string).toLowerCase());
    expect(new Set(all).size).toBe(all.length);
  });

  it("record each Status change in LeadHistory, ending at the lead's current status when it closed", () => {
    const byLead = new Map<string, Rec[]>();
    for (const h of history) byLead.set(h.LeadId as string, [...(byLead.get(h.LeadId as string) ?? []), h]);
    const truthById = new Map(truths.map((t) => [t.leadId, t]));
    for (const lead of [...active, ...historical]) {
      const changes = byLead.get(lead.Id as string) ?? [];
      const truth = truthById.get(lead.Id as string)!;
      for (let i = 1; i < changes.length; i++) {
        expect(changes[i]!.OldValue).toBe(changes[i - 1]!.NewValue);
        expect(changes[i]!.CreatedDate! >= changes[i - 1]!.CreatedDate!).toBe(true);
      }
      if (truth.outcome === 'open') {
        expect(changes.every((c) => !String(c.NewValue).startsWith('Closed'))).toBe(true);
        expect(changes.at(-1)?.NewValue ?? 'Open - Not Contacted').toBe(lead.Status);
      } else {
        const close = changes.at(-1)!;
        expect(close.NewValue).toBe(lead.Status);
        expect(Date.parse((close.CreatedDate as string).replace('+0000', 'Z'))).toBe(
          Date.parse(truth.outcomeAt!),
        );
      }
    }
  });

  it('use the Salesforce datetime and date formats', () => {
    for (const l of [...active.slice(0, 500), ...historical.slice(0, 500)]) {
      expect(l.CreatedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
      if (l.ConvertedDate !== null) expect(l.ConvertedDate).toMatch(/^\d{4}-\d\d-\d\d$/);
    }
    for (const t of tasks.slice(0, 500)) expect(t.ActivityDate).toMatch(/^\d{4}-\d\d-\d\d$/);
  });

  it('are referentially intact', () => {
    const userIds = new Set(users.map((u) => u.Id));
    const accountIds = new Set(accounts.map((a) => a.Id));
    const oppIds = new Set(opps.map((o) => o.Id));
    const leadIds = new Set([...active, ...historical].map((l) => l.Id));
    const leads = [...active, ...historical];
    const has = (set: Set<unknown>, v: unknown): boolean => v === null || set.has(v);
    expect(leads.filter((l) => !has(userIds, l.OwnerId) || !has(accountIds, l.Matched_Account__c))).toEqual(
      [],
    );
    expect(
      leads.filter((l) => !has(accountIds, l.ConvertedAccountId) || !has(oppIds, l.ConvertedOpportunityId)),
    ).toEqual([]);
    expect(tasks.filter((t) => !leadIds.has(t.WhoId) || !userIds.has(t.OwnerId))).toEqual([]);
    expect(opps.filter((o) => !accountIds.has(o.AccountId) || !userIds.has(o.OwnerId))).toEqual([]);
    expect(accounts.filter((a) => !userIds.has(a.OwnerId))).toEqual([]);
    expect(events.filter((e) => !leadIds.has(e.leadId))).toEqual([]);
    expect(tasks.length).toBeGreaterThan(1000);
  });

  it('split leads by status at dataEnd, one opportunity per converted lead', () => {
    for (const l of active) {
      expect(['Open - Not Contacted', 'Working - Contacted']).toContain(l.Status);
      expect(l.IsConverted).toBe(false);
    }
    for (const l of historical) {
      expect(['Closed - Converted', 'Closed - Not Converted']).toContain(l.Status);
      expect(l.IsConverted).toBe(l.Status === 'Closed - Converted');
      expect(l.ConvertedOpportunityId !== null).toBe(l.IsConverted);
    }
    expect(opps.length).toBe(historical.filter((l) => l.IsConverted).length);
    // Active count is met in expectation (outcome-based selection would bias the truth).
    expect(Math.abs(active.length - 3000) / 3000).toBeLessThan(0.06);
    expect(active.length + historical.length).toBe(15000);
  });

  it('keep regions consistent: EU leads have EU countries, territories, reps and accounts', () => {
    const userRegion = new Map(users.map((u) => [u.Id, u.Data_Region__c]));
    const accountRegion = new Map(accounts.map((a) => [a.Id, a.Data_Region__c]));
    let eu = 0;
    for (const l of [...active, ...historical]) {
      const region = l.Data_Region__c as string;
      if (region === 'EU') eu++;
      expect(COUNTRY_BY_NAME.get(l.Country as string)?.region).toBe(region);
      expect((l.Territory__c as string).startsWith(region === 'EU' ? 'EU-' : 'NA-')).toBe(true);
      if (l.OwnerId !== null) expect(userRegion.get(l.OwnerId)).toBe(region);
      if (l.Matched_Account__c !== null) expect(accountRegion.get(l.Matched_Account__c)).toBe(region);
    }
    expect(eu / 15000).toBeGreaterThan(0.3);
    expect(eu / 15000).toBeLessThan(0.4);
    for (const u of users)
      expect((u.Territory__c as string).startsWith(u.Data_Region__c === 'EU' ? 'EU-' : 'NA-')).toBe(true);
  });
});

describe('engagement events', () => {
  it('never occur before creation, after the lead closes or after dataEnd', () => {
    const truthById = new Map(truths.map((t) => [t.leadId, t]));
    expect(events.length).toBeGreaterThan(50_000);
    // Violations are collected and asserted once: per-element expect() is slow on 10^5 events.
    const bad = events.filter((e) => {
      const t = truthById.get(e.leadId) as LeadGroundTruth;
      const at = Date.parse(e.occurredAt);
      return (
        !e.occurredAt.endsWith('Z') ||
        at < Date.parse(t.createdAt) ||
        at >= dataEndMs ||
        (t.outcomeAt !== null && at >= Date.parse(t.outcomeAt)) ||
        !(EVENT_TYPES as readonly string[]).includes(e.type) ||
        e.region !== t.region
      );
    });
    expect(bad).toEqual([]);
  });

  it('carry no PII', () => {
    const leadById = new Map([...active, ...historical].map((l) => [l.Id, l]));
    const fieldList = [...EVENT_FIELDS].sort().join();
    const bad = events.filter((e) => {
      const l = leadById.get(e.leadId) as Rec;
      const pii = new Set([l.FirstName, l.LastName, l.Email, l.Phone, l.Street, l.City, l.Company]);
      return (
        Object.keys(e).sort().join() !== fieldList ||
        Object.values(e.properties).some((v) => pii.has(v) || String(v).includes('@'))
      );
    });
    expect(bad).toEqual([]);
  });
});

describe('extracts', () => {
  it('ERP: first day holds every account, later days only changes of known accounts', async () => {
    const erpFiles = (await listFiles(join(dir, FILES.erpDir))).filter((f) => f.endsWith('.csv.gz'));
    expect(erpFiles.length).toBe(541);
    const first = await readCsvGz(join(dir, FILES.erpDir, erpFiles[0] as string));
    const numbers = new Set(accounts.map((a) => a.ERP_Account_Number__c).filter((n) => n !== null));
    expect(first.length - 1).toBe(numbers.size);
    let changes = 0;
    for (const f of erpFiles.slice(1)) {
      const rows = (await readCsvGz(join(dir, FILES.erpDir, f))).slice(1);
      for (const r of rows) {
        expect(numbers.has(r[0])).toBe(true);
        expect(r[1]).toBe(f.slice(0, 10));
      }
      changes += rows.length;
    }
    expect(changes).toBeGreaterThan(0);
    expect(changes).toBeLessThan(numbers.size);
  });

  it('marketing: a lead first appears the day after creation, with its creation-time values', async () => {
    const truthById = new Map(truths.map((t) => [t.leadId, t]));
    const files = (await listFiles(join(dir, FILES.marketingDir))).filter((f) => f.endsWith('.csv.gz'));
    const seen = new Set<string>();
    for (const f of files) {
      const csv = await readCsvGz(join(dir, FILES.marketingDir, f));
      for (const r of csv.slice(1)) {
        const t = truthById.get(r[0] as string) as LeadGroundTruth;
        const created = Date.parse(t.createdAt);
        expect(Date.parse(`${r[1]}T00:00:00Z`)).toBeGreaterThan(created);
        if (!seen.has(r[0] as string)) {
          seen.add(r[0] as string);
          expect(Date.parse(`${r[1]}T00:00:00Z`) - created).toBeLessThanOrEqual(DAY_MS);
          expect(Number(r[4])).toBe(t.drivers.intentScore);
          expect(Number(r[2])).toBe(t.drivers.campaignCount);
        }
      }
    }
    expect(seen.size).toBe(truths.length);
  });
});

describe('ground truth', () => {
  it('agrees with the observable records', () => {
    const leadById = new Map([...active, ...historical].map((l) => [l.Id, l]));
    for (const t of truths) {
      const l = leadById.get(t.leadId) as Rec;
      expect(t.eta).toBeCloseTo(computeEta(t.drivers), 12);
      expect(l.LeadSource).toBe(t.drivers.leadSource);
      expect(l.Industry).toBe(t.drivers.industry);
      expect(l.NumberOfEmployees).toBe(t.drivers.employees);
      expect(l.Country).toBe(t.drivers.country);
      expect(SENIORITY_BY_TITLE.get(l.Title as string)).toBe(t.drivers.seniority);
      expect(l.CreatedDate).toBe(t.createdAt.replace('Z', '+0000'));
      expect(t.drivers.erp === null).toBe(l.Matched_Account__c === null);
      expect(l.IsConverted).toBe(t.outcome === 'converted');
    }
  });

  it('has a lead-level conversion rate in the documented 2–5 % band', () => {
    const resolvedBefore = dataEndMs - 180 * DAY_MS;
    const cohort = truths.filter((t) => Date.parse(t.createdAt) < resolvedBefore);
    const rate = cohort.filter((t) => t.outcome === 'converted').length / cohort.length;
    expect(cohort.length).toBeGreaterThan(3000);
    expect(rate).toBeGreaterThan(0.02);
    expect(rate).toBeLessThan(0.05);
    expect(manifest.baseRates.leadConversionRate).toBeCloseTo(rate, 5);
    expect(manifest.baseRates.snapshotLabelRate).toBeLessThan(rate);
  });

  describe('snapshot evaluation', () => {
    interface Snap {
      p: number;
      y: number;
      features: Record<string, number | string>;
    }
    let snaps: Snap[];
    beforeAll(() => {
      const byLead = new Map<string, Ev[]>();
      for (const e of events) {
        let list = byLead.get(e.leadId);
        if (!list) byLead.set(e.leadId, (list = []));
        list.push(e);
      }
      snaps = [];
      for (const t of truths) {
        const created = Date.parse(t.createdAt);
        const outcomeAt = t.outcomeAt === null ? null : Date.parse(t.outcomeAt);
        const schedule = new HazardSchedule(created, t.eta);
        const evs = byLead.get(t.leadId) ?? [];
        for (const ts of standardSnapshotTimes(created, outcomeAt, dataEndMs, 30)) {
          const counts = EVENT_TYPES.map(() => 0);
          for (const e of evs) {
            const k = EVENT_TYPES.indexOf(e.type as EventType);
            if (parseDateTime(e.occurredAt) <= ts) counts[k] = (counts[k] ?? 0) + 1;
          }
          const age = (ts - created) / DAY_MS;
          const features: Record<string, number | string> = {
            age,
            totalEvents: counts.reduce((a, b) => a + b, 0),
            intent: t.drivers.intentScore,
            employees: t.drivers.employees,
            campaignCount: t.drivers.campaignCount,
            source: t.drivers.leadSource,
            industry: t.drivers.industry,
            seniority: t.drivers.seniority,
            country: t.drivers.country,
            campaign: t.drivers.campaign ?? '',
            erp:
              t.drivers.erp === null
                ? 'none'
                : `${t.drivers.erp.isCustomer}/${t.drivers.erp.productsHeld}/${t.drivers.erp.paymentStatus}`,
          };
          EVENT_TYPES.forEach((type, k) => (features[type] = counts[k] ?? 0));
          snaps.push({
            p: bayesProbabilityFromCounts(schedule, t.eventLogMultiplier, counts, age, 30),
            y: snapshotLabel(t.outcome, outcomeAt, ts, 30) ? 1 : 0,
            features,
          });
        }
      }
    });

    it('reproduces the manifest AUC, also through the bayes-auc command path', async () => {
      const auc = rocAuc(
        snaps.map((s) => s.p),
        snaps.map((s) => s.y),
      );
      expect(snaps.length).toBe(manifest.groundTruth.snapshots);
      expect(auc).toBeCloseTo(manifest.groundTruth.bayesAuc, 5);
      const recomputed = await computeBayesAuc(dir);
      expect(recomputed.bayesAuc).toBeCloseTo(manifest.groundTruth.bayesAuc, 6);
      expect(recomputed.positives).toBe(manifest.groundTruth.positives);
    });

    it('is calibrated: mean prediction ≈ observed rate per decile, within sampling error', () => {
      const sorted = [...snaps].sort((a, b) => a.p - b.p);
      const n = sorted.length;
      for (let d = 0; d < 10; d++) {
        const slice = sorted.slice(Math.floor((d * n) / 10), Math.floor(((d + 1) * n) / 10));
        const expected = slice.reduce((a, s) => a + s.p, 0);
        const observed = slice.reduce((a, s) => a + s.y, 0);
        const variance = slice.reduce((a, s) => a + s.p * (1 - s.p), 0);
        // Snapshots of one lead are correlated: allow a design effect of 2 and 4 standard errors.
        expect(
          Math.abs(observed - expected),
          `decile ${d}: ${observed} vs ${expected.toFixed(1)}`,
        ).toBeLessThan(4 * Math.sqrt(2 * variance) + 2);
      }
    });

    it('beats every single observable feature', () => {
      const labels = snaps.map((s) => s.y);
      const bayes = rocAuc(
        snaps.map((s) => s.p),
        labels,
      );
      const names = Object.keys(snaps[0]?.features ?? {});
      expect(names.length).toBeGreaterThan(15);
      let best = 0;
      for (const name of names) {
        let values: number[];
        if (typeof snaps[0]?.features[name] === 'string') {
          // In-sample target encoding: optimistic for the feature, so a strict test for the Bayes score.
          const stats = new Map<string, [number, number]>();
          for (const s of snaps) {
            const k = s.features[name] as string;
            const st = stats.get(k) ?? [0, 0];
            st[0] += s.y;
            st[1] += 1;
            stats.set(k, st);
          }
          values = snaps.map((s) => {
            const [pos, count] = stats.get(s.features[name] as string) ?? [0, 1];
            return pos / count;
          });
        } else {
          values = snaps.map((s) => s.features[name] as number);
        }
        const auc = rocAuc(values, labels);
        best = Math.max(best, auc, 1 - auc);
      }
      expect(best).toBeGreaterThan(0.55);
      expect(bayes).toBeGreaterThan(best);
    });
  });
});
