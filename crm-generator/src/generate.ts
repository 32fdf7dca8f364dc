// Streams a whole data set to disk: records are produced per index and written immediately.

import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { Logger } from 'pino';
import { DEFAULT_CUSTOM_FIELD_PARAMS } from './custom-fields.js';
import { DAY_MS, sfDate, sfDateTime } from './format.js';
import { GzipLineWriter } from './gzip-writer.js';
import {
  DEFAULT_GROUND_TRUTH_PARAMS,
  bayesProbabilityFromCounts,
  seasonFactor,
  snapshotLabel,
  standardSnapshotTimes,
  type GroundTruthParams,
} from './ground-truth.js';
import { EVENT_TYPES } from './catalog.js';
import { generateLead, leadCore, type LeadContext } from './leads.js';
import { hashUnit } from './rng.js';
import { rocAuc } from './roc-auc.js';
import { World, type ErpState } from './world.js';

export const GENERATOR_VERSION = '1.0.0';

export const FILES = {
  manifest: 'manifest.json',
  users: 'users.ndjson.gz',
  accounts: 'accounts.ndjson.gz',
  leads: 'leads.ndjson.gz',
  leadsHistorical: 'leads-historical.ndjson.gz',
  opportunities: 'opportunities.ndjson.gz',
  tasks: 'tasks.ndjson.gz',
  leadHistory: 'lead-history.ndjson.gz',
  events: 'events.ndjson.gz',
  groundTruth: 'ground-truth.ndjson.gz',
  erpDir: 'extracts/erp',
  marketingDir: 'extracts/marketing',
} as const;

export const ERP_COLUMNS = [
  'erp_account_number',
  'extract_date',
  'is_customer',
  'erp_revenue',
  'products_held',
  'payment_status',
] as const;
export const MARKETING_COLUMNS = [
  'lead_id',
  'extract_date',
  'campaign_count',
  'last_campaign',
  'intent_score',
  'intent_topic',
] as const;

export interface GenerateOptions {
  outDir: string;
  seed: number;
  /** Target number of leads open at dataEnd (met in expectation; see docs/data.md). */
  active: number;
  historical: number;
  /** ISO instant at 00:00:00Z. */
  dataEnd: string;
  euShare: number;
  historyDays: number;
  accounts?: number;
  reps?: number;
  horizonDays?: number;
  /** Cap on leads whose snapshots enter the Bayes AUC (sampled by hash beyond it). */
  aucMaxLeads?: number;
  params?: GroundTruthParams;
  /**
   * Adds custom Lead fields (crm-generator/src/custom-fields.ts): two informative (in the ground truth), two
   * noise, one PII-like. Their effects default to DEFAULT_CUSTOM_FIELD_PARAMS unless params carries its own.
   */
  customFields?: boolean;
  logger?: Logger;
  /** Called every 1,000 leads (e.g. to sample memory). */
  onProgress?: (leadsDone: number, leadsTotal: number) => void;
}

export interface Manifest {
  generator: { name: string; version: string };
  seed: number;
  options: {
    active: number;
    historical: number;
    euShare: number;
    historyDays: number;
    accounts: number;
    reps: number;
    aucMaxLeads: number;
  };
  dataEnd: string;
  windowStart: string;
  arrivalGrowthPerWindow: number;
  counts: Record<string, number>;
  leadsByRegion: Record<string, { active: number; historical: number }>;
  leadsByStatus: Record<string, number>;
  baseRates: {
    resolvedCohortLeads: number;
    leadConversionRate: number;
    historicalConvertedShare: number;
    snapshotLabelRate: number;
    eventsPerLead: number;
  };
  groundTruth: {
    params: GroundTruthParams;
    horizonDays: number;
    snapshotDesign: string;
    bayesAuc: number;
    snapshots: number;
    positives: number;
    sampledLeads: number;
    sampleRate: number;
    meanPredicted: number;
  };
}

export function defaultAccounts(totalLeads: number): number {
  return Math.min(500_000, Math.max(50, Math.round(totalLeads / 25)));
}

export function defaultReps(totalLeads: number): number {
  return Math.min(1500, Math.max(16, Math.round(Math.sqrt(totalLeads) / 2)));
}

export function validateOptions(o: GenerateOptions): { dataEndMs: number; windowStartMs: number } {
  const dataEndMs = Date.parse(o.dataEnd);
  if (Number.isNaN(dataEndMs)) throw new Error(`--end is not a date: ${o.dataEnd}`);
  if (dataEndMs % DAY_MS !== 0) throw new Error(`--end must be at 00:00:00Z: ${o.dataEnd}`);
  for (const [name, v] of [
    ['active', o.active],
    ['historical', o.historical],
    ['history-days', o.historyDays],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  }
  if (o.active + o.historical < 1) throw new Error('need at least one lead');
  if (o.historyDays < 30) throw new Error('--history-days must be at least 30');
  if (!(o.euShare >= 0 && o.euShare <= 1)) throw new Error('--eu-share must be in [0, 1]');
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error('--seed must be a non-negative integer');
  return { dataEndMs, windowStartMs: dataEndMs - o.historyDays * DAY_MS };
}

/** Growable numeric buffer for snapshot scores (typed arrays keep it compact). */
class Float64List {
  data = new Float64Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

const PILOT_LEADS = 3000;
const PILOT_INDEX_BASE = 1e12;

/**
 * Lead arrivals: day weights exp(g·d/W)·weekday(d). The growth g is solved so the expected share of leads still
 * open at dataEnd equals active / (active + historical), from a pilot sample's survival curve. Selecting leads by
 * their outcome instead would bias the ground truth, so the active count is met in expectation, not exactly.
 */
export function calibrateArrivals(
  ctx: LeadContext,
  targetActiveShare: number,
): { growth: number; cumWeights: Float64Array } {
  const p = ctx.params;
  const W = ctx.historyDays;
  const maxAge = p.conversion.maxOpenDays;
  let seasonMean = 0;
  for (let d = 0; d < W; d++) seasonMean += seasonFactor(ctx.windowStartMs + (d + 0.5) * DAY_MS, p) / W;
  const ageCum = new Float64Array(maxAge + 1);
  const closeCum = new Float64Array(maxAge + 1);
  for (let j = 0; j < maxAge; j++) {
    const a = j + 0.5;
    ageCum[j + 1] =
      (ageCum[j] ?? 0) +
      (1 - Math.exp(-a / p.conversion.ageRiseDays)) * Math.exp(-a / p.conversion.ageDecayDays);
    closeCum[j + 1] = (closeCum[j] ?? 0) + p.close.basePerDay + p.close.slopePerDay * a;
  }
  const survival = new Float64Array(maxAge); // mean P(open at age j + 0.5)
  const midDay = Math.floor(W / 2);
  for (let i = 0; i < PILOT_LEADS; i++) {
    const core = leadCore(ctx, PILOT_INDEX_BASE + i, midDay);
    const scale =
      p.conversion.baseHazardPerDay *
      seasonMean *
      Math.exp(core.eta + p.conversion.latentCoefficient * core.latentInterest);
    for (let j = 0; j < maxAge; j++) {
      const h = scale * (((ageCum[j] ?? 0) + (ageCum[j + 1] ?? 0)) / 2);
      const q = ((closeCum[j] ?? 0) + (closeCum[j + 1] ?? 0)) / 2;
      survival[j] = (survival[j] ?? 0) + Math.exp(-h - q) / PILOT_LEADS;
    }
  }
  const weekday = (d: number): number => {
    const wd = new Date(ctx.windowStartMs + d * DAY_MS).getUTCDay();
    return wd === 0 || wd === 6 ? 0.35 : 1;
  };
  const share = (g: number): number => {
    let num = 0;
    let den = 0;
    for (let d = 0; d < W; d++) {
      const w = Math.exp((g * d) / W) * weekday(d);
      const age = W - d - 1; // age-day at dataEnd
      den += w;
      num += w * (age < maxAge ? (survival[age] ?? 0) : 0);
    }
    return num / den;
  };
  let lo = -40;
  let hi = 40;
  let growth: number;
  if (share(hi) < targetActiveShare) growth = hi;
  else if (share(lo) > targetActiveShare) growth = lo;
  else {
    for (let it = 0; it < 60; it++) {
      const mid = (lo + hi) / 2;
      if (share(mid) < targetActiveShare) lo = mid;
      else hi = mid;
    }
    growth = (lo + hi) / 2;
  }
  const cumWeights = new Float64Array(W + 1);
  for (let d = 0; d < W; d++)
    cumWeights[d + 1] = (cumWeights[d] ?? 0) + Math.exp((growth * d) / W) * weekday(d);
  return { growth, cumWeights };
}

/** Stratified arrival day of lead i of n: leads are in creation-day order. */
export function arrivalDay(cumWeights: Float64Array, i: number, n: number): number {
  const total = cumWeights[cumWeights.length - 1] ?? 1;
  const target = ((i + 0.5) / n) * total;
  let lo = 0;
  let hi = cumWeights.length - 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumWeights[mid + 1] ?? 0) <= target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

async function prepareOutDir(outDir: string): Promise<void> {
  if (existsSync(outDir)) {
    const entries = await readdir(outDir);
    const ours = new Set<string>([...Object.values(FILES), 'extracts']);
    const foreign = entries.filter((e) => !ours.has(e));
    if (foreign.length > 0) {
      throw new Error(
        `${outDir} holds files this generator did not write (${foreign.slice(0, 3).join(', ')}): refusing`,
      );
    }
    for (const f of Object.values(FILES)) {
      if (!f.startsWith('extracts/')) await rm(join(outDir, f), { force: true });
    }
    await rm(join(outDir, 'extracts'), { recursive: true, force: true });
  }
  await mkdir(join(outDir, FILES.erpDir), { recursive: true });
  await mkdir(join(outDir, FILES.marketingDir), { recursive: true });
}

function erpRow(erpNumber: string, date: string, s: ErpState): (string | number)[] {
  return [erpNumber, date, s.isCustomer ? 'true' : 'false', s.revenue, s.productsHeld, s.paymentStatus];
}

async function writeCsvGz(
  path: string,
  header: readonly string[],
  rows: (string | number)[][],
): Promise<void> {
  const w = new GzipLineWriter(path);
  w.writeLine(header.join(','));
  // csv-stringify handles quoting; rows are batched to bound the string size.
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = stringify(rows.slice(i, i + 5000), { record_delimiter: 'unix' });
    w.writeLine(chunk.slice(0, -1));
    if (w.needsDrain) await w.drain();
  }
  await w.close();
}

export async function generateDataset(opts: GenerateOptions): Promise<Manifest> {
  const { dataEndMs, windowStartMs } = validateOptions(opts);
  const baseParams = opts.params ?? DEFAULT_GROUND_TRUTH_PARAMS;
  const params =
    opts.customFields && !baseParams.customFields
      ? { ...baseParams, customFields: DEFAULT_CUSTOM_FIELD_PARAMS }
      : baseParams;
  const horizonDays = opts.horizonDays ?? 30;
  const total = opts.active + opts.historical;
  const accounts = opts.accounts ?? defaultAccounts(total);
  const repsWanted = opts.reps ?? defaultReps(total);
  const aucMaxLeads = opts.aucMaxLeads ?? 300_000;
  const log = opts.logger;
  const W = opts.historyDays;
  const dateOfDay = (d: number): string => sfDate(windowStartMs + d * DAY_MS);

  await prepareOutDir(opts.outDir);
  const out = (f: string): string => join(opts.outDir, f);
  const world = new World({
    seed: opts.seed,
    euShare: opts.euShare,
    accounts,
    reps: repsWanted,
    historyDays: W,
  });
  const ctx: LeadContext = {
    world,
    seed: opts.seed,
    params,
    windowStartMs,
    dataEndMs,
    historyDays: W,
    euShare: opts.euShare,
  };

  // Users.
  const users = new GzipLineWriter(out(FILES.users));
  for (const r of world.reps) {
    users.writeJson({
      Id: r.id,
      Username: r.username,
      FirstName: r.firstName,
      LastName: r.lastName,
      Email: r.username,
      IsActive: r.isActive,
      TimeZoneSidKey: r.timeZone,
      Territory__c: r.territory,
      Data_Region__c: r.region,
    });
  }
  const counts: Record<string, number> = { [FILES.users]: world.reps.length };
  await users.close();

  // Accounts and the ERP extracts (first day: every account; later days: changes only).
  const accountsOut = new GzipLineWriter(out(FILES.accounts));
  const erpFirst = new GzipLineWriter(out(`${FILES.erpDir}/${dateOfDay(0)}.csv.gz`));
  erpFirst.writeLine(ERP_COLUMNS.join(','));
  const changeDays: number[] = [];
  const changeAccounts: number[] = [];
  let erpRows = 0;
  for (let a = 0; a < accounts; a++) {
    const acc = world.account(a);
    const tl = world.erpTimeline(a);
    const last =
      tl.changes.length > 0 ? (tl.changes[tl.changes.length - 1] as { state: ErpState }).state : tl.initial;
    accountsOut.writeJson({
      Id: acc.id,
      Name: acc.name,
      Industry: acc.industry,
      NumberOfEmployees: acc.employees,
      AnnualRevenue: acc.annualRevenue,
      BillingCountry: acc.place.country.name,
      Website: acc.website,
      Type: last.isCustomer ? 'Customer - Direct' : 'Prospect',
      OwnerId: acc.ownerId,
      Territory__c: acc.place.territory,
      Data_Region__c: acc.region,
      ERP_Account_Number__c: acc.erpNumber,
    });
    erpFirst.writeLine(
      stringify([erpRow(acc.erpNumber, dateOfDay(0), tl.initial)], { record_delimiter: 'unix' }).slice(0, -1),
    );
    erpRows++;
    for (const c of tl.changes) {
      changeDays.push(c.day);
      changeAccounts.push(a);
    }
    if (accountsOut.needsDrain) await accountsOut.drain();
    if (erpFirst.needsDrain) await erpFirst.drain();
  }
  await erpFirst.close();
  const order = Uint32Array.from(changeDays.keys()).sort(
    (x, y) =>
      (changeDays[x] ?? 0) - (changeDays[y] ?? 0) || (changeAccounts[x] ?? 0) - (changeAccounts[y] ?? 0),
  );
  let k = 0;
  for (let d = 1; d <= W; d++) {
    const rows: (string | number)[][] = [];
    while (k < order.length && changeDays[order[k] ?? 0] === d) {
      const a = changeAccounts[order[k] ?? 0] ?? 0;
      rows.push(erpRow(world.account(a).erpNumber, dateOfDay(d), world.erpStateOn(a, d)));
      k++;
    }
    erpRows += rows.length;
    await writeCsvGz(out(`${FILES.erpDir}/${dateOfDay(d)}.csv.gz`), ERP_COLUMNS, rows);
  }
  counts['extracts/erp:files'] = W + 1;
  counts['extracts/erp:rows'] = erpRows;
  log?.info({ accounts, reps: world.reps.length, erpRows }, 'accounts, users and ERP extracts written');

  // Leads.
  const { growth, cumWeights } = calibrateArrivals(ctx, opts.active / total);
  log?.info({ growth }, 'arrival curve calibrated');
  const writers = {
    active: new GzipLineWriter(out(FILES.leads)),
    historical: new GzipLineWriter(out(FILES.leadsHistorical)),
    opportunities: new GzipLineWriter(out(FILES.opportunities)),
    tasks: new GzipLineWriter(out(FILES.tasks)),
    leadHistory: new GzipLineWriter(out(FILES.leadHistory)),
    events: new GzipLineWriter(out(FILES.events)),
    truth: new GzipLineWriter(out(FILES.groundTruth)),
  };
  const allWriters = [...Object.values(writers), accountsOut];
  const pendingMarketing = new Map<number, (string | number)[][]>();
  let nextMarketingDay = 0;
  let marketingRowCount = 0;
  const flushMarketingThrough = async (day: number): Promise<void> => {
    for (; nextMarketingDay <= Math.min(day, W); nextMarketingDay++) {
      const rows = pendingMarketing.get(nextMarketingDay) ?? [];
      pendingMarketing.delete(nextMarketingDay);
      marketingRowCount += rows.length;
      await writeCsvGz(
        out(`${FILES.marketingDir}/${dateOfDay(nextMarketingDay)}.csv.gz`),
        MARKETING_COLUMNS,
        rows,
      );
    }
  };

  const byRegion: Record<string, { active: number; historical: number }> = {
    US: { active: 0, historical: 0 },
    EU: { active: 0, historical: 0 },
  };
  const byStatus: Record<string, number> = {};
  let newAccounts = 0;
  let converted = 0;
  let resolvedCohort = 0;
  let resolvedConverted = 0;
  const resolvedBefore = dataEndMs - params.conversion.maxOpenDays * DAY_MS;
  const sampleRate = Math.min(1, aucMaxLeads / total);
  const scores = new Float64List();
  const labels = new Float64List();
  let sampledLeads = 0;
  const counts8 = new Float64Array(EVENT_TYPES.length);
  const progressEvery = Math.max(1000, Math.round(total / 20));

  for (let i = 0; i < total; i++) {
    const day = arrivalDay(cumWeights, i, total);
    if (day >= nextMarketingDay) await flushMarketingThrough(day);
    const g = generateLead(ctx, i, day);
    (g.isActive ? writers.active : writers.historical).writeJson(g.lead);
    writers.truth.writeJson(g.truth);
    for (const e of g.events) writers.events.writeJson(e);
    for (const t of g.tasks) writers.tasks.writeJson(t);
    for (const h of g.history) writers.leadHistory.writeJson(h);
    if (g.opportunity) writers.opportunities.writeJson(g.opportunity);
    if (g.newAccount) {
      accountsOut.writeJson(g.newAccount);
      newAccounts++;
    }
    for (const [d, row] of g.marketingRows) {
      let list = pendingMarketing.get(d);
      if (!list) pendingMarketing.set(d, (list = []));
      list.push(row);
    }
    const regionStats = byRegion[g.core.region] as { active: number; historical: number };
    if (g.isActive) regionStats.active++;
    else regionStats.historical++;
    const status = g.lead.Status as string;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (g.outcome.outcome === 'converted') converted++;
    if (g.core.createdMs < resolvedBefore) {
      resolvedCohort++;
      if (g.outcome.outcome === 'converted') resolvedConverted++;
    }

    if (sampleRate >= 1 || hashUnit(opts.seed, 0xa0c, i) < sampleRate) {
      sampledLeads++;
      const times = standardSnapshotTimes(g.core.createdMs, g.outcome.atMs, dataEndMs, horizonDays);
      counts8.fill(0);
      let e = 0;
      for (const t of times) {
        for (; e < g.simulatedEvents.length && (g.simulatedEvents[e]?.atMs ?? Infinity) <= t; e++) {
          const ti = g.simulatedEvents[e]?.typeIndex ?? 0;
          counts8[ti] = (counts8[ti] ?? 0) + 1;
        }
        scores.push(
          bayesProbabilityFromCounts(
            g.schedule,
            g.core.eventLogMultiplier,
            counts8,
            (t - g.core.createdMs) / DAY_MS,
            horizonDays,
          ),
        );
        labels.push(snapshotLabel(g.outcome.outcome, g.outcome.atMs, t, horizonDays) ? 1 : 0);
      }
    }

    if ((i + 1) % 1000 === 0 || i + 1 === total) {
      opts.onProgress?.(i + 1, total);
      if (allWriters.some((w) => w.needsDrain)) await Promise.all(allWriters.map((w) => w.drain()));
    }
    if ((i + 1) % progressEvery === 0)
      log?.info({ leads: i + 1, of: total, events: writers.events.lines }, 'progress');
  }
  await flushMarketingThrough(W);

  counts[FILES.accounts] = accounts + newAccounts;
  counts[FILES.leads] = writers.active.lines;
  counts[FILES.leadsHistorical] = writers.historical.lines;
  counts[FILES.opportunities] = writers.opportunities.lines;
  counts[FILES.tasks] = writers.tasks.lines;
  counts[FILES.leadHistory] = writers.leadHistory.lines;
  counts[FILES.events] = writers.events.lines;
  counts[FILES.groundTruth] = writers.truth.lines;
  counts['extracts/marketing:files'] = W + 1;
  counts['extracts/marketing:rows'] = marketingRowCount;
  await Promise.all(allWriters.map((w) => w.close()));

  const s = scores.view();
  const l = labels.view();
  let positives = 0;
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    positives += l[i] ?? 0;
    sum += s[i] ?? 0;
  }
  const manifest: Manifest = {
    generator: { name: '@leadrank/crm-generator', version: GENERATOR_VERSION },
    seed: opts.seed,
    options: {
      active: opts.active,
      historical: opts.historical,
      euShare: opts.euShare,
      historyDays: W,
      accounts,
      reps: repsWanted,
      aucMaxLeads,
    },
    dataEnd: sfDateTime(dataEndMs),
    windowStart: sfDateTime(windowStartMs),
    arrivalGrowthPerWindow: round(growth, 6),
    counts,
    leadsByRegion: byRegion,
    leadsByStatus: byStatus,
    baseRates: {
      resolvedCohortLeads: resolvedCohort,
      leadConversionRate: round(resolvedCohort > 0 ? resolvedConverted / resolvedCohort : Number.NaN, 6),
      historicalConvertedShare: round(
        opts.historical > 0 ? converted / Math.max(1, writers.historical.lines) : 0,
        6,
      ),
      snapshotLabelRate: round(s.length > 0 ? positives / s.length : Number.NaN, 6),
      eventsPerLead: round(writers.events.lines / total, 4),
    },
    groundTruth: {
      params,
      horizonDays,
      snapshotDesign:
        'each lead at CreatedDate + 1 day, then every 7 days while open at t and t + H <= dataEnd; label = converted in (t, t + H]',
      bayesAuc: round(rocAuc(s, l), 6),
      snapshots: s.length,
      positives,
      sampledLeads,
      sampleRate,
      meanPredicted: round(s.length > 0 ? sum / s.length : Number.NaN, 6),
    },
  };
  await writeFile(out(FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
