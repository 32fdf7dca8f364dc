// Guardrails: the conditions under which an experiment must stop even if its main metric looks good.
// Each returns what it measured and whether it is breached, with a sentence a RevOps lead can act on.
import jstat from 'jstat';
import type { ExperimentDefinition, SegmentDimension } from './definition.js';
import { estimateDifference, type Arm, type ClusterCell } from './stats.js';
import type { OutcomeRow } from './store.js';

export interface GuardrailResult {
  name: 'segment_conversion' | 'inbound_first_touch_sla' | 'never_shown_share' | 'fallback_share';
  breached: boolean;
  /** Set when there was too little data to judge. */
  insufficientData?: boolean;
  detail: string;
  values: Record<string, number | string | null>;
}

export interface AttributedLead {
  outcome: OutcomeRow;
  unitId: string;
  arm: Arm;
}

function cellsOf(leads: readonly AttributedLead[], value: (l: AttributedLead) => number): ClusterCell[] {
  const cells = new Map<string, ClusterCell>();
  for (const l of leads) {
    const key = `${l.arm}\u0000${l.unitId}`;
    const cell = cells.get(key) ?? { cluster: l.unitId, arm: l.arm, n: 0, y: 0 };
    cell.n += 1;
    cell.y += value(l);
    cells.set(key, cell);
  }
  return [...cells.values()];
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** No segment loses conversion beyond the tolerance with a significant one-sided harm test (Bonferroni). */
export function segmentGuardrail(
  leads: readonly AttributedLead[],
  def: ExperimentDefinition,
): GuardrailResult[] {
  const g = def.guardrails;
  const tested: { dimension: SegmentDimension; value: string; leads: AttributedLead[] }[] = [];
  for (const dimension of g.segments) {
    const byValue = new Map<string, AttributedLead[]>();
    for (const l of leads) {
      const v = l.outcome.segments[dimension] ?? '(missing)';
      const inValue = byValue.get(v);
      if (inValue) inValue.push(l);
      else byValue.set(v, [l]);
    }
    for (const [value, inSegment] of byValue) {
      const t = inSegment.filter((l) => l.arm === 'treatment').length;
      const c = inSegment.length - t;
      if (t >= g.minSegmentLeadsPerArm && c >= g.minSegmentLeadsPerArm)
        tested.push({ dimension, value, leads: inSegment });
    }
  }
  if (tested.length === 0) {
    return [
      {
        name: 'segment_conversion',
        breached: false,
        insufficientData: true,
        detail: `no segment has ${g.minSegmentLeadsPerArm} leads in each arm yet`,
        values: { segmentsTested: 0 },
      },
    ];
  }
  const alpha = g.segmentAlpha / tested.length;
  const breaches: GuardrailResult[] = [];
  let worst: { label: string; relative: number } | null = null;
  for (const s of tested) {
    const cells = cellsOf(s.leads, (l) => (l.outcome.converted ? 1 : 0));
    if (new Set(cells.map((c) => c.cluster)).size < 3) continue;
    const e = estimateDifference(cells);
    if (e.relative === null) continue;
    const label = `${s.dimension}=${s.value}`;
    if (!worst || e.relative < worst.relative) worst = { label, relative: e.relative };
    const harmP = e.se > 0 ? jstat.studentt.cdf(e.diff / e.se, e.df) : e.diff < 0 ? 0 : 1;
    if (e.relative < -g.maxRelativeSegmentLoss && harmP < alpha) {
      breaches.push({
        name: 'segment_conversion',
        breached: true,
        detail:
          `${label}: conversion ${pct(e.treatment.mean)} in treatment vs ${pct(e.control.mean)} in control ` +
          `(${(100 * e.relative).toFixed(1)} %, tolerance −${(100 * g.maxRelativeSegmentLoss).toFixed(0)} %, ` +
          `one-sided p=${harmP.toExponential(2)} < ${alpha.toExponential(2)})`,
        values: {
          segment: label,
          relative: e.relative,
          pValue: harmP,
          control: e.control.mean,
          treatment: e.treatment.mean,
        },
      });
    }
  }
  if (breaches.length > 0) return breaches;
  return [
    {
      name: 'segment_conversion',
      breached: false,
      detail: worst
        ? `${tested.length} segments tested; worst ${worst.label} at ${(100 * worst.relative).toFixed(1)} %`
        : `${tested.length} segments tested`,
      values: {
        segmentsTested: tested.length,
        worstSegment: worst?.label ?? null,
        worstRelative: worst?.relative ?? null,
      },
    },
  ];
}

/** New inbound leads in the treatment arm still get their first touch inside the SLA. */
export function slaGuardrail(
  owned: readonly AttributedLead[],
  def: ExperimentDefinition,
  now: Date,
): GuardrailResult {
  const g = def.guardrails;
  const inbound = new Set(g.inboundLeadSources);
  const slaMs = g.firstTouchSlaHours * 3_600_000;
  const share: Record<Arm, { within: number; due: number }> = {
    control: { within: 0, due: 0 },
    treatment: { within: 0, due: 0 },
  };
  for (const l of owned) {
    if (!inbound.has(l.outcome.segments.lead_source ?? '')) continue;
    const created = Date.parse(l.outcome.createdAt);
    const touched = l.outcome.firstTouchAt ? Date.parse(l.outcome.firstTouchAt) : null;
    // A lead still inside its SLA window and untouched is not yet late: it is not judged.
    if (touched === null && now.getTime() - created < slaMs) continue;
    share[l.arm].due += 1;
    if (touched !== null && touched - created <= slaMs) share[l.arm].within += 1;
  }
  const rate = (a: Arm) => (share[a].due > 0 ? share[a].within / share[a].due : null);
  const t = rate('treatment');
  const c = rate('control');
  if (t === null) {
    return {
      name: 'inbound_first_touch_sla',
      breached: false,
      insufficientData: true,
      detail: 'no inbound lead in the treatment arm has reached its SLA yet',
      values: { treatment: null, control: c },
    };
  }
  const breached = t < g.minSlaShare;
  return {
    name: 'inbound_first_touch_sla',
    breached,
    detail:
      `inbound leads touched within ${g.firstTouchSlaHours} h: ${pct(t)} in treatment ` +
      `(${share.treatment.due} leads), ${c === null ? 'n/a' : pct(c)} in control; minimum ${pct(g.minSlaShare)}`,
    values: { treatment: t, control: c, treatmentLeads: share.treatment.due },
  };
}

/** The share of owned leads never shown to anyone does not rise in treatment. */
export function neverShownGuardrail(
  owned: readonly AttributedLead[],
  shownLeadIds: ReadonlySet<string>,
  def: ExperimentDefinition,
): GuardrailResult {
  const counts: Record<Arm, { never: number; all: number }> = {
    control: { never: 0, all: 0 },
    treatment: { never: 0, all: 0 },
  };
  for (const l of owned) {
    counts[l.arm].all += 1;
    if (!shownLeadIds.has(l.outcome.leadId)) counts[l.arm].never += 1;
  }
  if (counts.treatment.all === 0 || counts.control.all === 0) {
    return {
      name: 'never_shown_share',
      breached: false,
      insufficientData: true,
      detail: 'no owned leads in one of the arms yet',
      values: {},
    };
  }
  const t = counts.treatment.never / counts.treatment.all;
  const c = counts.control.never / counts.control.all;
  const max = def.guardrails.maxNeverShownIncrease;
  return {
    name: 'never_shown_share',
    breached: t - c > max,
    detail: `leads never shown: ${pct(t)} in treatment vs ${pct(c)} in control (maximum rise ${pct(max)})`,
    values: { treatment: t, control: c, increase: t - c },
  };
}

/** Leads shown from the rules fallback in an arm that should show the model stay under the threshold. */
export function fallbackGuardrail(
  exposures: readonly { arm: Arm; leads: number; fallbackLeads: number }[],
  def: ExperimentDefinition,
): GuardrailResult {
  const modelArms = (['control', 'treatment'] as const).filter((a) => def.arms[a].kind === 'model');
  let leads = 0;
  let fallback = 0;
  for (const e of exposures) {
    if (!modelArms.includes(e.arm)) continue;
    leads += e.leads;
    fallback += e.fallbackLeads;
  }
  if (leads === 0) {
    return {
      name: 'fallback_share',
      breached: false,
      insufficientData: true,
      detail: 'no lead shown from a model arm yet',
      values: { share: null },
    };
  }
  const share = fallback / leads;
  const max = def.guardrails.maxFallbackShare;
  return {
    name: 'fallback_share',
    breached: share > max,
    detail: `rules fallback on ${pct(share)} of leads shown in model arms (maximum ${pct(max)})`,
    values: { share, leads },
  };
}
