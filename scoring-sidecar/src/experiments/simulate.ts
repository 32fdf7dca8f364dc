// A simulated rep-randomized experiment with a known true effect, for the statistical tests, the worked example
// in docs/evaluation.md and the dashboard demo. Reps differ in skill (their base conversion), which is what
// makes leads clustered and the pre-period rate a useful CUPED covariate.
import { armForBucket, bucketOf } from './assignment.js';
import type { ExperimentDefinition } from './definition.js';
import type { ExperimentService } from './service.js';
import { seededUniform, type ClusterCell } from './stats.js';
import type { OutcomeRow } from './store.js';

export interface SimulationSpec {
  seed: number;
  reps: number;
  /** Mean leads per rep during the test (actual counts vary ±50 %). */
  leadsPerRep: number;
  baseRate: number;
  /** Spread of rep skill: base_r = baseRate · exp(sd·z − sd²/2). */
  repSpread: number;
  /** True absolute effect of the treatment on conversion. */
  effect: number;
  treatmentShare: number;
  /** Leads per rep in the pre-period (the CUPED covariate's precision). */
  prePeriodLeads: number;
}

export const DEFAULT_SIMULATION: SimulationSpec = {
  seed: 1,
  reps: 60,
  leadsPerRep: 40,
  baseRate: 0.15,
  repSpread: 0.5,
  effect: 0.03,
  treatmentShare: 0.5,
  prePeriodLeads: 60,
};

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

interface SimRep {
  repId: string;
  base: number;
  treated: boolean;
  leads: number;
  preLeads: number;
  preConversions: number;
}

function simulateReps(spec: SimulationSpec, next: () => number, salt: string): SimRep[] {
  const reps: SimRep[] = [];
  const cap = 0.95 - Math.max(0, spec.effect);
  for (let r = 0; r < spec.reps; r++) {
    const repId = `rep-${String(r).padStart(4, '0')}`;
    const z = normal(next);
    const base = Math.min(cap, spec.baseRate * Math.exp(spec.repSpread * z - spec.repSpread ** 2 / 2));
    let preConversions = 0;
    for (let i = 0; i < spec.prePeriodLeads; i++) if (next() < base) preConversions += 1;
    reps.push({
      repId,
      base,
      treated: armForBucket(bucketOf(salt, repId), spec.treatmentShare) === 'treatment',
      leads: Math.max(1, Math.round(spec.leadsPerRep * (0.5 + next()))),
      preLeads: spec.prePeriodLeads,
      preConversions,
    });
  }
  return reps;
}

/** Cluster totals of one simulated experiment: fast enough for hundreds of seeds. */
export function simulateCells(spec: SimulationSpec): ClusterCell[] {
  const next = seededUniform(spec.seed);
  return simulateReps(spec, next, `simulation-${spec.seed}`).map((rep) => {
    const p = rep.base + (rep.treated ? spec.effect : 0);
    let y = 0;
    for (let i = 0; i < rep.leads; i++) if (next() < p) y += 1;
    return {
      cluster: rep.repId,
      arm: rep.treated ? 'treatment' : 'control',
      n: rep.leads,
      y,
      x: rep.preLeads > 0 ? rep.preConversions / rep.preLeads : null,
    };
  });
}

const REGIONS = ['US', 'EU'];
const SOURCES = ['Web', 'Paid Search', 'Partner Referral', 'Trade Show', 'Purchased List'];
const INDUSTRIES = ['Technology', 'Finance', 'Healthcare', 'Retail', 'Manufacturing'];
const SIZES = ['1-49', '50-199', '200-999', '1000+'];

export interface ServiceSimulationSpec extends SimulationSpec {
  start: Date;
  days: number;
  /** Extra effect on one lead source (e.g. −0.1 to make that segment lose), to test the guardrail. */
  segmentEffect?: { leadSource: string; effect: number };
  /** Share of leads shown from the rules fallback in the treatment arm. */
  fallbackShare?: number;
}

/**
 * Runs a whole experiment through the service: canary at `treatmentShare` (its only step), an exposure per lead
 * on its creation day, outcomes and the pre-period joined as Salesforce would give them.
 */
export async function simulateIntoService(
  service: ExperimentService,
  definition: ExperimentDefinition,
  spec: ServiceSimulationSpec,
): Promise<void> {
  const next = seededUniform(spec.seed);
  await service.create({ ...definition, canarySteps: [spec.treatmentShare] }, 'simulation');
  await service.startCanary(definition.id, 'simulation');
  const reps = simulateReps(spec, next, definition.salt);
  const outcomes: OutcomeRow[] = [];
  let leadNo = 0;
  for (const rep of reps) {
    const arm = service.armFor(definition.id, rep.repId);
    for (let i = 0; i < rep.leads; i++) {
      const created = new Date(spec.start.getTime() + next() * spec.days * 86_400_000);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
      const leadSource = pick(SOURCES);
      const leadId = `00Q${String(leadNo++).padStart(15, '0')}`;
      let p = rep.base + (arm === 'treatment' ? spec.effect : 0);
      if (arm === 'treatment' && spec.segmentEffect?.leadSource === leadSource)
        p += spec.segmentEffect.effect;
      const converted = next() < Math.max(0, Math.min(1, p));
      // Reps reach ranked leads faster; hours ~ exponential with mean 10 h (control) or 8 h (treatment).
      const hours = -Math.log(1 - next()) * (arm === 'treatment' ? 8 : 10);
      const shown = next() > 0.03;
      if (shown) {
        const fallback = arm === 'treatment' && next() < (spec.fallbackShare ?? 0.01);
        service.recordExposure({
          experimentId: definition.id,
          repId: rep.repId,
          leadIds: [leadId],
          ...(fallback ? { fallbackLeadIds: [leadId] } : {}),
          at: created,
        });
      }
      outcomes.push({
        leadId,
        ownerId: rep.repId,
        createdAt: created.toISOString(),
        converted,
        convertedAt: converted ? new Date(created.getTime() + 5 * 86_400_000).toISOString() : null,
        firstTouchAt: new Date(created.getTime() + hours * 3_600_000).toISOString(),
        amount: converted ? Math.round(5_000 + next() * 45_000) : 0,
        segments: {
          region: pick(REGIONS),
          lead_source: leadSource,
          industry: pick(INDUSTRIES),
          company_size: pick(SIZES),
        },
      });
    }
  }
  await service.flush();
  await service.store.upsertOutcomes(definition.id, outcomes);
  await service.store.setPrePeriod(
    definition.id,
    reps.map((r) => ({ unitId: r.repId, leads: r.preLeads, conversions: r.preConversions })),
  );
}
