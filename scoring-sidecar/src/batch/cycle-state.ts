// The cycle's keys in the cycle state store and the reads and writes of its meta, index, report and failures.
import type { Region } from '../store/index.js';
import type { BatchContext, CycleMeta, NewCycle } from './cycle-contract.js';
import type { CycleReport, DeadLetter } from './report.js';
import { getJson, unpackJson, type CycleStateStore } from './state-store.js';

const k = {
  index: 'cycles',
  meta: (c: string) => `c:${c}:meta`,
  rows: (c: string, p: number) => `c:${c}:p:${p}:rows`,
  changes: (c: string, p: number) => `c:${c}:p:${p}:changes`,
  scores: (c: string, p: number) => `c:${c}:p:${p}:scores`,
  partResult: (c: string, p: number) => `c:${c}:p:${p}:result`,
  partMonitor: (c: string, p: number) => `c:${c}:p:${p}:monitor`,
  partAudit: (c: string, p: number) => `c:${c}:p:${p}:audit`,
  roundItems: (c: string, r: number) => `c:${c}:r:${r}:items`,
  writeResult: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:result`,
  writeRetry: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:retry`,
  writeDead: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:dead`,
  writeDone: (c: string, r: number, w: number) => `c:${c}:w:${r}:${w}:written`,
  sfJob: (c: string, r: number, w: number, what: string) => `c:${c}:w:${r}:${w}:job:${what}`,
  paused: (c: string) => `c:${c}:paused`,
  report: (c: string) => `c:${c}:report`,
  dead: (c: string) => `c:${c}:dead`,
};
export const stateKeys = k;

export async function loadMeta(state: CycleStateStore, cycleId: string): Promise<CycleMeta> {
  const meta = await getJson<CycleMeta>(state, k.meta(cycleId));
  if (!meta) throw new Error(`cycle ${cycleId} is unknown (or older than the state retention)`);
  return meta;
}

export const saveMeta = (state: CycleStateStore, meta: CycleMeta) =>
  state.set([[k.meta(meta.cycleId), JSON.stringify(meta)]]);

export async function listCycles(state: CycleStateStore): Promise<string[]> {
  return (await getJson<string[]>(state, k.index)) ?? [];
}

/** Records a cycle's meta once; a cycle that already exists is left as it is (idempotent start). */
export async function createCycle(ctx: BatchContext, c: NewCycle): Promise<CycleMeta> {
  const existing = await getJson<CycleMeta>(ctx.state, k.meta(c.cycleId));
  if (existing) return existing;
  const asOf = (c.asOf ?? new Date()).toISOString();
  const meta: CycleMeta = {
    cycleId: c.cycleId,
    region: ctx.region,
    mode: c.mode ?? 'full',
    since: c.since ?? null,
    limit: c.limit ?? null,
    asOf,
    startedAt: new Date().toISOString(),
    model: c.model,
    shadow: c.shadow ?? null,
    ruleSetVersion: c.ruleSetVersion,
    phase: 'extract',
    extract: { partitions: 0, rows: 0, lastId: null, done: false, ms: 0, attempts: 0 },
    writePlan: [],
    round: 0,
    roundTasks: [],
    writeMs: 0,
    orgUsageAtStart: null,
  };
  const index = (await listCycles(ctx.state)).filter((id) => id !== c.cycleId);
  index.push(c.cycleId);
  await ctx.state.set([
    [k.meta(c.cycleId), JSON.stringify(meta)],
    [k.index, JSON.stringify(index.slice(-200))],
  ]);
  return meta;
}

export async function cycleReport(state: CycleStateStore, cycleId: string): Promise<CycleReport | null> {
  return getJson<CycleReport>(state, k.report(cycleId));
}

export async function cycleFailures(state: CycleStateStore, cycleId: string): Promise<DeadLetter[] | null> {
  const data = await state.get(k.dead(cycleId));
  return data ? unpackJson<DeadLetter[]>(data) : null;
}

/** Cycle ids sort by time: `<region>-<yyyymmddThhmmssZ>`. */
export function newCycleId(region: Region, at = new Date()): string {
  return `${region}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}`;
}
