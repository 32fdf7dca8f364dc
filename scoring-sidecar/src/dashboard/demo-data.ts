// Demo-like monitoring history and experiments, for the dashboard's browser test, its screenshot and
// `tsx src/dashboard/demo.ts`. Thirty days of one region: score bands, a lead-source drift from day 20, a
// fallback spike, batch cycles with one failure, and two experiments (one shipping, one halted by a guardrail).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  experimentDefinitionSchema,
  ExperimentService,
  DEFAULT_SIMULATION,
  simulateIntoService,
  seededUniform,
  ExperimentStore,
} from '../experiments/index.js';
import type { MonitoringHistory } from '../monitoring/index.js';

const DAY_MS = 86_400_000;
const FEATURES = [
  'lead_source',
  'lead_origin',
  'intent_score',
  'web_visit_7d',
  'employees',
  'industry',
  'country',
  'title_seniority',
  'days_since_any_event',
  'erp_revenue',
];

export async function seedDemoHistory(history: MonitoringHistory, now: Date, region = 'US'): Promise<void> {
  const next = seededUniform(42);
  for (let d = 29; d >= 0; d--) {
    const dayStart = new Date(now.getTime() - d * DAY_MS);
    const day = dayStart.toISOString().slice(0, 10);
    const volume = 9_000 + Math.round(2_000 * next());
    const shiftA = d < 10 ? 0.06 : 0; // the lead-source change shows in the bands too
    const bands = {
      A: Math.round(volume * (0.1 + shiftA)),
      B: Math.round(volume * 0.25),
      C: Math.round(volume * 0.35),
      D: Math.round(volume * (0.3 - shiftA)),
    };
    const fallbackShare = d === 6 ? 0.12 : 0.01 + 0.01 * next();
    await history.addScores(day, region, bands, {
      model: Math.round(volume * (1 - fallbackShare)),
      rules: Math.round(volume * fallbackShare),
    });
    await history.recordDrift([
      {
        day,
        region,
        rows: volume,
        features: FEATURES.map((feature, i) => {
          const drifting = d < 10 && (feature === 'lead_source' || feature === 'lead_origin');
          const psi = drifting ? 0.3 + 0.05 * (10 - d) * next() : 0.005 + 0.04 * next() * (i < 3 ? 2 : 1);
          return {
            feature,
            psi,
            missingRate: 0.02,
            baselineMissingRate: 0.02,
            status: psi >= 0.25 ? 'alert' : psi >= 0.1 ? 'warn' : 'ok',
            reason: psi >= 0.1 ? `PSI ${psi.toFixed(3)}` : null,
          };
        }),
        prediction: null,
      },
    ]);
    if (d >= 10) {
      // Labels exist only for leads scored 30+ days ago in reality; the demo shows the curve it would give.
      await history.recordCalibration(
        day,
        region,
        Array.from({ length: 10 }, (_, k) => {
          const p = 0.02 + 0.07 * k + 0.01 * next();
          return {
            decile: k + 1,
            rows: 800,
            meanPredicted: p,
            observedRate: Math.max(0, p * (0.85 + 0.2 * next())),
          };
        }),
      );
    }
    for (const hour of [0, 4, 8, 12, 16, 20]) {
      const failed = d === 3 && hour === 8;
      await history.recordBatchCycle({
        startedAt: new Date(
          dayStart.getTime() - (dayStart.getTime() % DAY_MS) + hour * 3_600_000,
        ).toISOString(),
        region,
        durationSeconds: failed ? 400 : 1_200 + 900 * next(),
        ok: !failed,
        leadsScored: failed ? 0 : 400_000,
        changesWritten: failed ? 0 : Math.round(20_000 + 10_000 * next()),
        error: failed ? 'Bulk API job failed' : null,
      });
    }
  }
}

const definitionFile = fileURLToPath(
  new URL('../../../config/experiments/model-vs-rules.json', import.meta.url),
);

/** Two simulated experiments in a fresh service: one to ship, one halted by its segment guardrail. */
export async function seedDemoExperiments(store: ExperimentStore, now: Date): Promise<ExperimentService> {
  const clock = { now: new Date(now.getTime() - 35 * DAY_MS) };
  const service = await ExperimentService.open(store, { now: () => clock.now });
  const base = experimentDefinitionSchema.parse(JSON.parse(readFileSync(definitionFile, 'utf8')));
  const spec = {
    ...DEFAULT_SIMULATION,
    reps: 240,
    leadsPerRep: 60,
    effect: 0.04,
    start: clock.now,
    days: 30,
    seed: 3,
  };
  await simulateIntoService(service, base, spec);
  await simulateIntoService(
    service,
    {
      ...base,
      id: 'challenger-canary',
      description: 'Challenger model, canary',
      salt: 'challenger-canary-2025',
    },
    {
      ...spec,
      reps: 160,
      treatmentShare: 0.25,
      seed: 4,
      segmentEffect: { leadSource: 'Partner Referral', effect: -0.15 },
    },
  );
  clock.now = now;
  await service.checkGuardrails('challenger-canary');
  return service;
}

export async function openDemoExperiments(now: Date): Promise<ExperimentService> {
  return seedDemoExperiments(await ExperimentStore.open(':memory:'), now);
}
