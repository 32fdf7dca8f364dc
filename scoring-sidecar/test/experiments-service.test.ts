// Assignment, modes, exposure logging, the report's decision and guardrails halting a canary, through the
// service on an in-memory store.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../src/experiments/assignment.js';
import { experimentDefinitionSchema, type ExperimentDefinition } from '../src/experiments/definition.js';
import { formatReport } from '../src/experiments/report-text.js';
import { ExperimentService } from '../src/experiments/service.js';
import { DEFAULT_SIMULATION, simulateIntoService } from '../src/experiments/simulate.js';
import { ExperimentStore } from '../src/experiments/store.js';

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

/** A service whose clock the test moves: the simulation runs at its start, reports read at `NOW`. */
function service(now = NOW) {
  const clock = { now: sim.start };
  const svc = new ExperimentService(new ExperimentStore(':memory:'), { now: () => clock.now });
  return Object.assign(svc, {
    simulate(spec: Parameters<typeof simulateIntoService>[2]) {
      clock.now = spec.start;
      simulateIntoService(svc, definition, spec);
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

  it('widening a canary only adds reps to treatment, then rolls out; revert puts everyone on control', () => {
    const svc = service();
    svc.create(definition, 'test');
    const reps = Array.from({ length: 300 }, (_, i) => `rep-${i}`);
    expect(reps.every((r) => svc.servingFor(r)?.shown.kind === 'rules')).toBe(true);
    expect(svc.servingFor('rep-1')?.shadow).toEqual({ kind: 'model', alias: 'champion' });
    svc.startCanary(definition.id, 'test');
    let treated = new Set(reps.filter((r) => svc.armFor(definition.id, r) === 'treatment'));
    const shares = [definition.canarySteps[0]!];
    for (let step = 1; step < definition.canarySteps.length; step++) {
      const state = svc.widen(definition.id, 'test');
      shares.push(state.share);
      const now = new Set(reps.filter((r) => svc.armFor(definition.id, r) === 'treatment'));
      for (const r of treated) expect(now.has(r)).toBe(true);
      expect(now.size).toBeGreaterThan(treated.size);
      treated = now;
    }
    expect(shares).toEqual(definition.canarySteps);
    expect(Math.abs(treated.size / reps.length - 0.5)).toBeLessThan(0.08);
    expect(svc.widen(definition.id, 'test').mode).toBe('full');
    expect(reps.every((r) => svc.servingFor(r)?.shown.kind === 'model')).toBe(true);
    svc.revert(definition.id, 'test', 'rollback drill');
    expect(svc.servingFor('rep-1')).toBeNull();
    expect(reps.every((r) => svc.armFor(definition.id, r) === 'control')).toBe(true);
    const trail = svc.store.events(definition.id).map((e) => e.action);
    expect(trail).toEqual(['create', 'canary', 'widen', 'widen', 'widen', 'rollout', 'revert']);
    expect(svc.store.events(definition.id).at(-1)?.reason).toBe('rollback drill');
  });

  it('stores the first assignment of each unit and logs exposure only when a rep sees a list', () => {
    const svc = service();
    svc.create(definition, 'test');
    svc.servingFor('rep-7');
    expect(svc.store.assignments(definition.id).map((a) => a.unitId)).toEqual(['rep-7']);
    svc.recordExposure({ experimentId: definition.id, repId: 'rep-7', leadIds: ['00Q1'], at: NOW });
    expect(svc.store.leadExposures(definition.id)).toHaveLength(0); // shadow: nobody sees the challenger
    svc.startCanary(definition.id, 'test');
    svc.servingFor('rep-8');
    expect(svc.store.leadExposures(definition.id)).toHaveLength(0); // assignment is no exposure
    svc.recordExposure({
      experimentId: definition.id,
      repId: 'rep-8',
      leadIds: ['00Q2', '00Q3', '00Q2'],
      at: NOW,
    });
    svc.recordExposure({ experimentId: definition.id, repId: 'rep-8', leadIds: ['00Q2'], at: NOW });
    const exposures = svc.store.leadExposures(definition.id);
    expect(exposures.map((e) => e.leadId).sort()).toEqual(['00Q2', '00Q3']);
    expect(exposures[0]?.arm).toBe(bucketOf(definition.salt, 'rep-8') < 0.05 ? 'treatment' : 'control');
  });

  it('randomizes teams when the experiment says so', () => {
    const svc = service();
    svc.create({ ...definition, id: 'by-team', unit: 'team' }, 'test');
    expect(() => svc.servingFor('rep-1')).toThrow(/team/);
    svc.startCanary('by-team', 'test');
    svc.widen('by-team', 'test');
    svc.widen('by-team', 'test');
    svc.widen('by-team', 'test');
    const arms = ['rep-1', 'rep-2', 'rep-3'].map((r) => svc.armFor('by-team', r, 'team-9'));
    expect(new Set(arms).size).toBe(1);
  });
});

describe('report and guardrails on a simulated experiment', () => {
  it('ships a real improvement with every guardrail ok', () => {
    const svc = service();
    svc.simulate({ ...sim, seed: 3, reps: 240 });
    const report = svc.report(definition.id);
    console.log(formatReport(report));
    expect(report.srm?.mismatch).toBe(false);
    expect(report.guardrails.filter((g) => g.breached)).toEqual([]);
    expect(report.metrics.conversion!.ci[0]).toBeLessThan(0.04);
    expect(report.metrics.conversion!.ci[1]).toBeGreaterThan(0.04);
    expect(report.metrics.conversion!.cuped!.varianceReduction).toBeGreaterThan(0);
    expect(report.metrics.hoursToFirstTouch!.diff).toBeLessThan(0);
    expect(report.decision).toBe('ship');
    expect(svc.checkGuardrails(definition.id).halted).toBe(false);
    expect(svc.require(definition.id).mode).toBe('canary');
  });

  it('halts the canary when a segment loses conversion, and says which', () => {
    const svc = service();
    svc.simulate({
      ...sim,
      seed: 4,
      segmentEffect: { leadSource: 'Partner Referral', effect: -0.15 },
    });
    const { report, halted } = svc.checkGuardrails(definition.id);
    expect(halted).toBe(true);
    const breached = report.guardrails.filter((g) => g.breached);
    expect(breached.map((g) => g.values.segment)).toEqual(['lead_source=Partner Referral']);
    expect(report.decision).toBe('stop');
    const state = svc.require(definition.id);
    expect(state.mode).toBe('halted');
    expect(state.share).toBe(0);
    expect(svc.store.events(definition.id).at(-1)?.reason).toMatch(/lead_source=Partner Referral/);
    expect(svc.servingFor('rep-0001')).toBeNull();
  });

  it('halts the canary when the fallback share is over its threshold', () => {
    const svc = service();
    svc.simulate({ ...sim, seed: 5, fallbackShare: 0.2 });
    const { report, halted } = svc.checkGuardrails(definition.id);
    expect(halted).toBe(true);
    expect(report.guardrails.find((g) => g.name === 'fallback_share')?.breached).toBe(true);
  });

  it('stops on a sample ratio mismatch', () => {
    const svc = service();
    svc.simulate({ ...sim, seed: 6, effect: 0 });
    // Exposure logging lost for 80 % of the control reps: a broken split.
    const kept = svc.store
      .unitExposures(definition.id)
      .filter((u, i) => u.arm === 'treatment' || i % 5 === 0);
    const tampered = new ExperimentStore(':memory:');
    tampered.create(svc.require(definition.id).definition, NOW.toISOString(), 'test');
    tampered.setMode(definition.id, {
      at: NOW.toISOString(),
      action: 'canary',
      toMode: 'canary',
      share: 0.5,
      reason: '',
      actor: 'test',
    });
    for (const u of kept) {
      tampered.recordExposure(definition.id, {
        repId: u.unitId,
        unitId: u.unitId,
        arm: u.arm,
        share: u.share,
        at: u.firstAt,
        leadIds: [],
        fallbackLeads: 0,
      });
    }
    const report = new ExperimentService(tampered, { now: () => NOW }).report(definition.id);
    expect(report.srm?.mismatch).toBe(true);
    expect(report.decision).toBe('stop');
  });

  it('keeps running while the sample is small', () => {
    const svc = service(new Date('2025-01-20T00:00:00Z'));
    svc.simulate({ ...sim, seed: 7, reps: 30, days: 5 });
    const report = svc.report(definition.id);
    expect(report.decision).toBe('keep running');
    expect(report.reasons.join(' ')).toMatch(/days running/);
  });
});
