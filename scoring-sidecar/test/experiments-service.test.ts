// Assignment, modes, exposure logging, the report's decision and guardrails halting a canary, through the
// service on each shared-state backend: the embedded SQLite default and a PostgreSQL server (a fresh database
// per test, dropped after).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bucketOf } from '../src/experiments/assignment.js';
import { experimentDefinitionSchema, type ExperimentDefinition } from '../src/experiments/definition.js';
import { formatReport } from '../src/experiments/report-text.js';
import { ExperimentService } from '../src/experiments/service.js';
import { DEFAULT_SIMULATION, simulateIntoService } from '../src/experiments/simulate.js';
import { ExperimentStore } from '../src/experiments/store.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const configFile = fileURLToPath(new URL('../../config/experiments/model-vs-rules.json', import.meta.url));
const definition: ExperimentDefinition = experimentDefinitionSchema.parse(
  JSON.parse(readFileSync(configFile, 'utf8')),
);
const NOW = new Date('2025-03-01T00:00:00Z');
const sim = {
  ...DEFAULT_SIMULATION,
  reps: 120,
  leadsPerRep: 60,
  effect: 0.04,
  start: new Date('2025-01-15T00:00:00Z'),
  days: 30,
};

const BACKENDS = ['sqlite', 'postgres'] as const;
type Backend = (typeof BACKENDS)[number];
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A fresh store on the backend (in-memory SQLite, or a new PostgreSQL database). */
async function openStore(backend: Backend): Promise<ExperimentStore> {
  let db: TestDatabase | null = null;
  if (backend === 'postgres') db = await createTestDatabase('experiments_service');
  const store = await ExperimentStore.open(db ? { databaseUrl: db.url } : { sqliteFile: ':memory:' });
  cleanup.push(async () => {
    await store.close();
    await db?.drop();
  });
  return store;
}

/** A service whose clock the test moves: the simulation runs at its start, reports read at `NOW`. */
async function service(backend: Backend, now = NOW) {
  const clock = { now: sim.start };
  const svc = await ExperimentService.open(await openStore(backend), { now: () => clock.now });
  cleanup.push(() => svc.close());
  return Object.assign(svc, {
    async simulate(spec: Parameters<typeof simulateIntoService>[2]) {
      clock.now = spec.start;
      await simulateIntoService(svc, definition, spec);
      clock.now = now;
    },
  });
}

describe('assignment', () => {
  it('is deterministic, salted per experiment and splits at the configured share', () => {
    expect(bucketOf('salt-a', 'rep-1')).toBe(bucketOf('salt-a', 'rep-1'));
    const reps = Array.from({ length: 4000 }, (_, i) => `005${i}`);
    const a = reps.map((r) => bucketOf('salt-a-12345', r) < 0.5);
    const b = reps.map((r) => bucketOf('salt-b-12345', r) < 0.5);
    const agree = a.filter((x, i) => x === b[i]).length / reps.length;
    expect(agree).toBeGreaterThan(0.46); // independent splits agree about half the time
    expect(agree).toBeLessThan(0.54);
    const share = a.filter(Boolean).length / reps.length;
    expect(share).toBeGreaterThan(0.47);
    expect(share).toBeLessThan(0.53);
  });
});

describe.each(BACKENDS)('modes and exposures on %s', (backend) => {
  it('widening a canary only adds reps to treatment, then rolls out; revert puts everyone on control', async () => {
    const svc = await service(backend);
    await svc.create(definition, 'test');
    const reps = Array.from({ length: 300 }, (_, i) => `rep-${i}`);
    expect(reps.every((r) => svc.servingFor(r)?.shown.kind === 'rules')).toBe(true);
    expect(svc.servingFor('rep-1')?.shadow).toEqual({ kind: 'model', alias: 'champion' });
    await svc.startCanary(definition.id, 'test');
    let treated = new Set(reps.filter((r) => svc.armFor(definition.id, r) === 'treatment'));
    const shares = [definition.canarySteps[0]!];
    for (let step = 1; step < definition.canarySteps.length; step++) {
      const state = await svc.widen(definition.id, 'test');
      shares.push(state.share);
      const now = new Set(reps.filter((r) => svc.armFor(definition.id, r) === 'treatment'));
      for (const r of treated) expect(now.has(r)).toBe(true);
      expect(now.size).toBeGreaterThan(treated.size);
      treated = now;
    }
    expect(shares).toEqual(definition.canarySteps);
    expect(Math.abs(treated.size / reps.length - 0.5)).toBeLessThan(0.08);
    expect((await svc.widen(definition.id, 'test')).mode).toBe('full');
    expect(reps.every((r) => svc.servingFor(r)?.shown.kind === 'model')).toBe(true);
    await svc.revert(definition.id, 'test', 'rollback drill');
    expect(svc.servingFor('rep-1')).toBeNull();
    expect(reps.every((r) => svc.armFor(definition.id, r) === 'control')).toBe(true);
    const trail = (await svc.store.events(definition.id)).map((e) => e.action);
    expect(trail).toEqual(['create', 'canary', 'widen', 'widen', 'widen', 'rollout', 'revert']);
    expect((await svc.store.events(definition.id)).at(-1)?.reason).toBe('rollback drill');
  });

  it('stores the first assignment of each unit and logs exposure only when a rep sees a list', async () => {
    const svc = await service(backend);
    await svc.create(definition, 'test');
    svc.servingFor('rep-7');
    await svc.flush();
    expect((await svc.store.assignments(definition.id)).map((a) => a.unitId)).toEqual(['rep-7']);
    svc.recordExposure({ experimentId: definition.id, repId: 'rep-7', leadIds: ['00Q1'], at: NOW });
    await svc.flush();
    expect(await svc.store.leadExposures(definition.id)).toHaveLength(0); // shadow: nobody sees the challenger
    await svc.startCanary(definition.id, 'test');
    svc.servingFor('rep-8');
    await svc.flush();
    expect(await svc.store.leadExposures(definition.id)).toHaveLength(0); // assignment is no exposure
    svc.recordExposure({
      experimentId: definition.id,
      repId: 'rep-8',
      leadIds: ['00Q2', '00Q3', '00Q2'],
      at: NOW,
    });
    svc.recordExposure({ experimentId: definition.id, repId: 'rep-8', leadIds: ['00Q2'], at: NOW });
    // Queued, not written, until the next flush (the worklist response never waits for the database).
    expect(await svc.store.leadExposures(definition.id)).toHaveLength(0);
    await svc.flush();
    const exposures = await svc.store.leadExposures(definition.id);
    expect(exposures.map((e) => e.leadId).sort()).toEqual(['00Q2', '00Q3']);
    expect(exposures[0]?.arm).toBe(bucketOf(definition.salt, 'rep-8') < 0.05 ? 'treatment' : 'control');
    const units = await svc.store.unitExposures(definition.id);
    expect(units).toEqual([expect.objectContaining({ unitId: 'rep-8', leads: 4, fallbackLeads: 0 })]);
  });

  it('randomizes teams when the experiment says so', async () => {
    const svc = await service(backend);
    await svc.create({ ...definition, id: 'by-team', unit: 'team' }, 'test');
    expect(() => svc.servingFor('rep-1')).toThrow(/team/);
    await svc.startCanary('by-team', 'test');
    await svc.widen('by-team', 'test');
    await svc.widen('by-team', 'test');
    await svc.widen('by-team', 'test');
    const arms = ['rep-1', 'rep-2', 'rep-3'].map((r) => svc.armFor('by-team', r, 'team-9'));
    expect(new Set(arms).size).toBe(1);
  });

  it('refuses a mode change decided on a stale state (one decision however many replicas)', async () => {
    const store = await openStore(backend);
    const a = await ExperimentService.open(store, { now: () => NOW });
    const b = await ExperimentService.open(store, { now: () => NOW });
    cleanup.push(
      () => a.close(),
      () => b.close(),
    );
    await a.create(definition, 'test');
    await a.startCanary(definition.id, 'test');
    const seen = await b.require(definition.id);
    await a.revert(definition.id, 'test', 'first');
    await expect(
      store.setMode(
        definition.id,
        { mode: seen.mode, share: seen.share },
        { at: NOW.toISOString(), action: 'halt', toMode: 'halted', share: 0, reason: 'late', actor: 'b' },
      ),
    ).rejects.toThrow(/changed meanwhile/);
    expect((await store.events(definition.id)).map((e) => e.action)).toEqual(['create', 'canary', 'revert']);
  });
});

describe.each(BACKENDS)('report and guardrails on a simulated experiment (%s)', (backend) => {
  it('ships a real improvement with every guardrail ok', async () => {
    const svc = await service(backend);
    await svc.simulate({ ...sim, seed: 3, reps: 240 });
    const report = await svc.report(definition.id);
    console.log(formatReport(report));
    expect(report.srm?.mismatch).toBe(false);
    expect(report.guardrails.filter((g) => g.breached)).toEqual([]);
    expect(report.metrics.conversion!.ci[0]).toBeLessThan(0.04);
    expect(report.metrics.conversion!.ci[1]).toBeGreaterThan(0.04);
    expect(report.metrics.conversion!.cuped!.varianceReduction).toBeGreaterThan(0);
    expect(report.metrics.hoursToFirstTouch!.diff).toBeLessThan(0);
    expect(report.decision).toBe('ship');
    expect((await svc.checkGuardrails(definition.id)).halted).toBe(false);
    expect((await svc.require(definition.id)).mode).toBe('canary');
  });

  it('halts the canary when a segment loses conversion, and says which', async () => {
    const svc = await service(backend);
    await svc.simulate({
      ...sim,
      seed: 4,
      segmentEffect: { leadSource: 'Partner Referral', effect: -0.15 },
    });
    const { report, halted } = await svc.checkGuardrails(definition.id);
    expect(halted).toBe(true);
    const breached = report.guardrails.filter((g) => g.breached);
    expect(breached.map((g) => g.values.segment)).toEqual(['lead_source=Partner Referral']);
    expect(report.decision).toBe('stop');
    const state = await svc.require(definition.id);
    expect(state.mode).toBe('halted');
    expect(state.share).toBe(0);
    expect((await svc.store.events(definition.id)).at(-1)?.reason).toMatch(/lead_source=Partner Referral/);
    expect(svc.servingFor('rep-0001')).toBeNull();
  });

  it('halts the canary when the fallback share is over its threshold', async () => {
    const svc = await service(backend);
    await svc.simulate({ ...sim, seed: 5, fallbackShare: 0.2 });
    const { report, halted } = await svc.checkGuardrails(definition.id);
    expect(halted).toBe(true);
    expect(report.guardrails.find((g) => g.name === 'fallback_share')?.breached).toBe(true);
  });

  it('stops on a sample ratio mismatch', async () => {
    const svc = await service(backend);
    await svc.simulate({ ...sim, seed: 6, effect: 0 });
    // Exposure logging lost for 80 % of the control reps: a broken split.
    const kept = (await svc.store.unitExposures(definition.id)).filter(
      (u, i) => u.arm === 'treatment' || i % 5 === 0,
    );
    const tampered = await openStore(backend);
    await tampered.create((await svc.require(definition.id)).definition, NOW.toISOString(), 'test');
    await tampered.setMode(
      definition.id,
      { mode: 'shadow', share: 0 },
      { at: NOW.toISOString(), action: 'canary', toMode: 'canary', share: 0.5, reason: '', actor: 'test' },
    );
    await tampered.recordExposures(
      definition.id,
      kept.map((u) => ({
        repId: u.unitId,
        unitId: u.unitId,
        arm: u.arm,
        share: u.share,
        at: u.firstAt,
        leadIds: [],
        fallbackLeads: 0,
      })),
    );
    const reader = await ExperimentService.open(tampered, { now: () => NOW });
    cleanup.push(() => reader.close());
    const report = await reader.report(definition.id);
    expect(report.srm?.mismatch).toBe(true);
    expect(report.decision).toBe('stop');
  });

  it('keeps running while the sample is small', async () => {
    const svc = await service(backend, new Date('2025-01-20T00:00:00Z'));
    await svc.simulate({ ...sim, seed: 7, reps: 30, days: 5 });
    const report = await svc.report(definition.id);
    expect(report.decision).toBe('keep running');
    expect(report.reasons.join(' ')).toMatch(/days running/);
  });
});
