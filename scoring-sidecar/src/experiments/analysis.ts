// The experiment report: effects per arm with cluster-aware intervals, CUPED, SRM, planning figures,
// guardrails and a decision. Pure: it reads the store's rows and the clock, and changes nothing.
import type { ExperimentDefinition } from './definition.js';
import {
  fallbackGuardrail,
  neverShownGuardrail,
  segmentGuardrail,
  slaGuardrail,
  type AttributedLead,
  type GuardrailResult,
} from './guardrails.js';
import {
  estimateDifference,
  estimateIcc,
  minimumDetectableEffect,
  repsNeeded,
  sampleRatioMismatch,
  type Arm,
  type ClusterCell,
  type Estimate,
  type SrmResult,
} from './stats.js';
import type {
  ExperimentEvent,
  ExperimentState,
  LeadExposureRow,
  OutcomeRow,
  PrePeriodRow,
  UnitExposureRow,
} from './store.js';

export type Decision = 'ship' | 'keep running' | 'stop';

export interface ExperimentReport {
  experimentId: string;
  generatedAt: string;
  mode: ExperimentState['mode'];
  share: number;
  daysRunning: number;
  units: Record<Arm, number>;
  leads: Record<Arm, number>;
  metrics: {
    /** CUPED-adjusted conversion (the primary metric), with the raw estimate beside it. */
    conversion: Estimate | null;
    conversionRaw: Estimate | null;
    hoursToFirstTouch: Estimate | null;
    pipelinePerLead: Estimate | null;
  };
  srm: SrmResult | null;
  plan: {
    baseRate: number | null;
    icc: number | null;
    leadsPerUnit: number | null;
    mdeNow: number | null;
    unitsNeeded: number | null;
    targetMde: number;
  };
  guardrails: GuardrailResult[];
  decision: Decision;
  reasons: string[];
}

export interface ReportInput {
  state: ExperimentState;
  events: readonly ExperimentEvent[];
  leadExposures: readonly LeadExposureRow[];
  unitExposures: readonly UnitExposureRow[];
  outcomes: readonly OutcomeRow[];
  prePeriod: readonly PrePeriodRow[];
  /** rep → randomized unit, for attributing owned leads that were never shown. */
  repUnits: ReadonlyMap<string, string>;
  now: Date;
}

const SRM_MIN_UNITS = 10;

function cells(
  leads: readonly AttributedLead[],
  include: (l: AttributedLead) => boolean,
  value: (l: AttributedLead) => number,
  covariate?: ReadonlyMap<string, number>,
): ClusterCell[] {
  const byKey = new Map<string, ClusterCell>();
  for (const l of leads) {
    if (!include(l)) continue;
    const key = `${l.arm}\u0000${l.unitId}`;
    let cell = byKey.get(key);
    if (!cell) {
      cell = { cluster: l.unitId, arm: l.arm, n: 0, y: 0, x: covariate?.get(l.unitId) ?? null };
      byKey.set(key, cell);
    }
    cell.n += 1;
    cell.y += value(l);
  }
  return [...byKey.values()];
}

function estimateOrNull(c: readonly ClusterCell[], opts: Parameters<typeof estimateDifference>[1]) {
  const clusters = (arm: Arm) =>
    new Set(c.filter((x) => x.arm === arm && x.n > 0).map((x) => x.cluster)).size;
  if (clusters('treatment') < 2 || clusters('control') < 2) return null;
  return estimateDifference(c, opts);
}

/** Unit counts by the arm of each unit's first exposure, against the share in force at that moment. */
function srmCheck(unitExposures: readonly UnitExposureRow[]): SrmResult | null {
  const first = new Map<string, UnitExposureRow>();
  for (const e of unitExposures) {
    const seen = first.get(e.unitId);
    if (!seen || e.firstAt < seen.firstAt) first.set(e.unitId, e);
  }
  const units = [...first.values()];
  if (units.length < SRM_MIN_UNITS) return null;
  const expectedTreatment = units.reduce((s, u) => s + u.share, 0);
  if (expectedTreatment === 0 || expectedTreatment === units.length) return null;
  const treatment = units.filter((u) => u.arm === 'treatment').length;
  return sampleRatioMismatch(
    [units.length - treatment, treatment],
    [units.length - expectedTreatment, expectedTreatment],
  );
}

function startOf(state: ExperimentState, events: readonly ExperimentEvent[]): Date {
  const first = events.find((e) => e.toMode === 'canary' || e.toMode === 'full');
  return new Date(first?.at ?? state.startedAt);
}

export function buildReport(input: ReportInput): ExperimentReport {
  const { state, now } = input;
  const def: ExperimentDefinition = state.definition;
  const outcomeById = new Map(input.outcomes.map((o) => [o.leadId, o]));
  const exposed: AttributedLead[] = [];
  for (const e of input.leadExposures) {
    const outcome = outcomeById.get(e.leadId);
    if (outcome) exposed.push({ outcome, unitId: e.unitId, arm: e.arm });
  }
  // Owned leads (shown or not) take the arm their owner's unit was first exposed in.
  const unitArm = new Map<string, Arm>();
  for (const e of [...input.unitExposures].sort((a, b) => a.firstAt.localeCompare(b.firstAt))) {
    if (!unitArm.has(e.unitId)) unitArm.set(e.unitId, e.arm);
  }
  const owned: AttributedLead[] = [];
  for (const o of input.outcomes) {
    const unitId = o.ownerId ? input.repUnits.get(o.ownerId) : undefined;
    const arm = unitId ? unitArm.get(unitId) : undefined;
    if (unitId && arm) owned.push({ outcome: o, unitId, arm });
  }

  const covariate = new Map(
    input.prePeriod.filter((p) => p.leads > 0).map((p) => [p.unitId, p.conversions / p.leads]),
  );
  const alpha = def.analysis.alpha;
  const opts = { alpha, method: def.analysis.method, seed: 7 } as const;
  const conversionCells = cells(
    exposed,
    () => true,
    (l) => (l.outcome.converted ? 1 : 0),
    covariate,
  );
  const conversionRaw = estimateOrNull(conversionCells, opts);
  const conversion = estimateOrNull(conversionCells, { ...opts, cuped: covariate.size > 0 });
  const hoursToFirstTouch = estimateOrNull(
    cells(
      exposed,
      (l) => l.outcome.firstTouchAt !== null,
      (l) => (Date.parse(l.outcome.firstTouchAt!) - Date.parse(l.outcome.createdAt)) / 3_600_000,
    ),
    opts,
  );
  const pipelinePerLead = estimateOrNull(
    cells(
      exposed,
      () => true,
      (l) => l.outcome.amount,
    ),
    opts,
  );

  const units = { control: 0, treatment: 0 };
  const leads = { control: 0, treatment: 0 };
  for (const arm of unitArm.values()) units[arm] += 1;
  for (const l of exposed) leads[l.arm] += 1;

  // Planning: base rate and ICC from the control arm (or the pre-period before any control data).
  const controlCells = conversionCells.filter((c) => c.arm === 'control');
  const planCells =
    controlCells.length >= 2 ? controlCells : input.prePeriod.map((p) => ({ n: p.leads, y: p.conversions }));
  const planLeads = planCells.reduce((s, c) => s + c.n, 0);
  const baseRate = planLeads > 0 ? planCells.reduce((s, c) => s + c.y, 0) / planLeads : null;
  const icc = planCells.length >= 2 ? estimateIcc(planCells) : null;
  const totalUnits = units.control + units.treatment;
  const leadsPerUnit = totalUnits > 0 ? (leads.control + leads.treatment) / totalUnits : null;
  const varianceReduction = conversion?.cuped?.varianceReduction ?? 0;
  const planOk = baseRate !== null && baseRate > 0 && baseRate < 1 && icc !== null && leadsPerUnit !== null;
  const power = {
    alpha,
    power: def.analysis.power,
    treatmentShare: 0.5,
    varianceReduction: Math.max(0, varianceReduction),
  };
  const plan = {
    baseRate,
    icc,
    leadsPerUnit,
    mdeNow:
      planOk && totalUnits >= 4
        ? minimumDetectableEffect({ baseRate, icc, leadsPerRep: leadsPerUnit, reps: totalUnits, ...power })
        : null,
    unitsNeeded: planOk
      ? repsNeeded({ baseRate, icc, leadsPerRep: leadsPerUnit, mde: def.analysis.mde, ...power })
      : null,
    targetMde: def.analysis.mde,
  };

  const srm = srmCheck(input.unitExposures);
  const shown = new Set(input.leadExposures.map((e) => e.leadId));
  const guardrails = [
    ...segmentGuardrail(exposed, def),
    slaGuardrail(owned, def, now),
    neverShownGuardrail(owned, shown, def),
    fallbackGuardrail(input.unitExposures, def),
  ];
  const daysRunning = (now.getTime() - startOf(state, input.events).getTime()) / 86_400_000;
  const { decision, reasons } = decide({ conversion, srm, guardrails, units, daysRunning, plan, def });
  return {
    experimentId: state.id,
    generatedAt: now.toISOString(),
    mode: state.mode,
    share: state.share,
    daysRunning,
    units,
    leads,
    metrics: { conversion, conversionRaw, hoursToFirstTouch, pipelinePerLead },
    srm,
    plan,
    guardrails,
    decision,
    reasons,
  };
}

/**
 * Decision rules, in order: a broken split (SRM) or a breached guardrail stops; too little data keeps running;
 * a conversion interval above 0 ships, below 0 stops; the planned sample reached without an effect stops.
 */
export function decide(r: {
  conversion: Estimate | null;
  srm: SrmResult | null;
  guardrails: readonly GuardrailResult[];
  units: Record<Arm, number>;
  daysRunning: number;
  plan: ExperimentReport['plan'];
  def: ExperimentDefinition;
}): { decision: Decision; reasons: string[] } {
  const reasons: string[] = [];
  if (r.srm?.mismatch) {
    reasons.push(
      `sample ratio mismatch (chi-square ${r.srm.chiSquare.toFixed(1)}, p=${r.srm.pValue.toExponential(2)}): ` +
        'assignment or exposure logging is broken, the estimate cannot be trusted',
    );
  }
  for (const g of r.guardrails) if (g.breached) reasons.push(`guardrail ${g.name} breached: ${g.detail}`);
  if (reasons.length > 0) return { decision: 'stop', reasons };

  const { minUnitsPerArm, minDays } = r.def.analysis;
  const waiting: string[] = [];
  if (Math.min(r.units.control, r.units.treatment) < minUnitsPerArm)
    waiting.push(`${r.units.control}/${r.units.treatment} units per arm, minimum ${minUnitsPerArm}`);
  if (r.daysRunning < minDays) waiting.push(`${r.daysRunning.toFixed(1)} days running, minimum ${minDays}`);
  if (!r.conversion) waiting.push('no conversion estimate yet (outcomes not joined, or too few units)');
  if (waiting.length > 0 || !r.conversion) return { decision: 'keep running', reasons: waiting };

  const [lo, hi] = r.conversion.ci;
  const ci = `[${(100 * lo).toFixed(2)}, ${(100 * hi).toFixed(2)}] pts`;
  if (lo > 0) return { decision: 'ship', reasons: [`conversion improves: ${ci} excludes 0`] };
  if (hi < 0) return { decision: 'stop', reasons: [`conversion worsens: ${ci} excludes 0`] };
  const total = r.units.control + r.units.treatment;
  if (r.plan.unitsNeeded !== null && total >= r.plan.unitsNeeded) {
    return {
      decision: 'stop',
      reasons: [
        `no effect: ${ci} includes 0 with ${total} units, the planned ${r.plan.unitsNeeded} for an effect of ` +
          `${(100 * r.plan.targetMde).toFixed(1)} pts`,
      ],
    };
  }
  return {
    decision: 'keep running',
    reasons: [
      `${ci} includes 0; ${total} of ${r.plan.unitsNeeded ?? '?'} units planned for an effect of ` +
        `${(100 * r.plan.targetMde).toFixed(1)} pts`,
    ],
  };
}
