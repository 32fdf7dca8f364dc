// The generative model behind every lead's outcome, and the exact Bayes-optimal conversion probability.
// Time unit: days. Hazards are piecewise constant on the lead's age-days [j, j+1) (values taken at the midpoint),
// which makes every integral below a finite sum.

import { EVENT_TYPES, type EventType, type PaymentStatus, type Seniority } from './catalog.js';
import { customFieldEffect, type CustomDrivers, type CustomFieldParams } from './custom-fields.js';
import { DAY_MS, parseDateTime } from './format.js';
import { gaussHermite } from './gauss-hermite.js';
import type { Rng } from './rng.js';

export const GROUND_TRUTH_VERSION = 'gt-1';

/** Observable drivers, fixed at lead creation (ERP and marketing values as of creation). */
export interface LeadDrivers {
  leadSource: string;
  industry: string;
  employees: number;
  seniority: Seniority;
  country: string;
  /** ERP state of the matched account on the creation day; null when the lead matched no account. */
  erp: { isCustomer: boolean; productsHeld: number; paymentStatus: PaymentStatus } | null;
  /** Marketing intent score 0–100 at creation. */
  intentScore: number;
  /** Last campaign touch before creation, null when none. */
  campaign: string | null;
  campaignCount: number;
  /** The informative custom fields (budget band, demo requested), when the world has them. */
  custom?: CustomDrivers;
}

export interface LeadGroundTruth {
  leadId: string;
  /** ISO 8601 UTC; equals the Lead's CreatedDate. */
  createdAt: string;
  region: 'US' | 'EU';
  drivers: LeadDrivers;
  /** β·x, the static part of the log conversion hazard (excluding log h0). */
  eta: number;
  /** Static part of the log event rate, shared by all event types. */
  eventLogMultiplier: number;
  /** Latent interest u ~ N(0, σ²): never observable. */
  latentInterest: number;
  /** Outcome as of dataEnd: 'open' leads are the active ones. */
  outcome: 'converted' | 'closed' | 'open';
  outcomeAt: string | null;
}

export interface GroundTruthParams {
  version: string;
  latentSigma: number;
  conversion: {
    baseHazardPerDay: number;
    latentCoefficient: number;
    ageRiseDays: number;
    ageDecayDays: number;
    maxOpenDays: number;
    sourceEffect: Record<string, number>;
    industryEffect: Record<string, number>;
    seniorityEffect: Record<Seniority, number>;
    countryEffect: Record<string, number>;
    sizePeakLog10: number;
    sizeCurvature: number;
    sizeMax: number;
    erpCustomer: number;
    erpPerProduct: number;
    erpMaxProducts: number;
    erpPaymentEffect: Record<PaymentStatus, number>;
    intentPerPoint: number;
    campaignEffect: Record<string, number>;
    perCampaignTouch: number;
    maxCampaignTouches: number;
  };
  close: { basePerDay: number; slopePerDay: number };
  /**
   * Optional drift of the conversion hazard over calendar time: × exp(conversionLogPerYear · years since
   * fromIso), 1 before it. Applied with the season factor, so the simulated outcomes and the Bayes-optimal
   * ceiling follow it alike (the model-selection tests and bench need a base rate that moves).
   */
  drift?: { conversionLogPerYear: number; fromIso: string };
  season: {
    weekendFactor: number;
    quarterEndFactor: number;
    quarterEndDays: number;
    lateDecemberFactor: number;
    lateDecemberFromDay: number;
  };
  events: {
    decayFloor: number;
    decayDays: number;
    types: Record<EventType, { ratePerDay: number; latentLoading: number }>;
    sourceEffect: Record<string, number>;
    seniorityEffect: Record<Seniority, number>;
    intentPerPoint: number;
  };
  quadratureNodes: number;
  /** Effects of the informative custom fields (`generate --custom-fields`); absent in the default world. */
  customFields?: CustomFieldParams;
}

export const DEFAULT_GROUND_TRUTH_PARAMS: GroundTruthParams = {
  version: GROUND_TRUTH_VERSION,
  latentSigma: 1.0,
  conversion: {
    baseHazardPerDay: 0.00042,
    latentCoefficient: 1.0,
    ageRiseDays: 2,
    ageDecayDays: 60,
    maxOpenDays: 180,
    sourceEffect: {
      Web: 0.4,
      'Paid Search': 0.1,
      'Organic Search': 0.2,
      Webinar: 0.5,
      'Trade Show': 0.2,
      'Partner Referral': 0.9,
      'Employee Referral': 1.0,
      'Purchased List': -1.2,
      'Content Syndication': -0.5,
      'Phone Inquiry': 0.8,
    },
    industryEffect: {
      Technology: 0.45,
      Finance: 0.3,
      Banking: 0.2,
      Insurance: 0.1,
      Healthcare: 0.0,
      Manufacturing: 0.15,
      Retail: -0.1,
      Education: -0.4,
      Government: -0.5,
      Consulting: 0.25,
      Telecommunications: 0.1,
      Media: -0.15,
      Transportation: -0.05,
      Energy: 0.05,
      'Not For Profit': -0.45,
      Hospitality: -0.25,
      Other: -0.2,
    },
    seniorityEffect: {
      'C-Level': 0.3,
      VP: 0.5,
      Director: 0.6,
      Manager: 0.3,
      'Individual Contributor': 0.0,
      Student: -1.2,
    },
    countryEffect: {
      'United States': 0.0,
      Canada: -0.1,
      Germany: 0.05,
      Austria: 0.0,
      France: -0.15,
      Netherlands: 0.1,
      Belgium: 0.0,
      Ireland: 0.0,
      Spain: -0.2,
      Italy: -0.25,
      Portugal: -0.2,
      Sweden: 0.1,
      Denmark: 0.1,
      Finland: 0.05,
      Poland: -0.3,
    },
    sizePeakLog10: 2.7,
    sizeCurvature: 0.25,
    sizeMax: 0.3,
    erpCustomer: 0.7,
    erpPerProduct: 0.15,
    erpMaxProducts: 5,
    erpPaymentEffect: { current: 0, late: -0.3, delinquent: -0.9, none: 0 },
    intentPerPoint: 0.015,
    campaignEffect: {
      'Spring Product Launch': 0.2,
      'Webinar Series: Pipeline Analytics': 0.3,
      'Monthly Newsletter': -0.1,
      'Trade Show Follow-up': 0.1,
      'Partner Co-marketing': 0.25,
      'Retargeting Ads': 0.0,
      'Analyst Report Download': 0.15,
      'Customer Success Stories': 0.05,
    },
    perCampaignTouch: 0.08,
    maxCampaignTouches: 5,
  },
  close: { basePerDay: 0.01, slopePerDay: 0.0006 },
  season: {
    weekendFactor: 0.35,
    quarterEndFactor: 1.6,
    quarterEndDays: 10,
    lateDecemberFactor: 0.4,
    lateDecemberFromDay: 20,
  },
  events: {
    decayFloor: 0.15,
    decayDays: 10,
    types: {
      web_visit: { ratePerDay: 0.35, latentLoading: 0.5 },
      pricing_page_visit: { ratePerDay: 0.03, latentLoading: 1.2 },
      email_open: { ratePerDay: 0.3, latentLoading: 0.4 },
      email_click: { ratePerDay: 0.08, latentLoading: 0.8 },
      form_fill: { ratePerDay: 0.015, latentLoading: 1.0 },
      content_download: { ratePerDay: 0.04, latentLoading: 0.8 },
      webinar_attended: { ratePerDay: 0.01, latentLoading: 0.9 },
      trial_signup: { ratePerDay: 0.004, latentLoading: 1.5 },
    },
    sourceEffect: {
      Web: 0.3,
      'Paid Search': 0.1,
      'Organic Search': 0.2,
      Webinar: 0.3,
      'Trade Show': -0.2,
      'Partner Referral': 0.0,
      'Employee Referral': -0.1,
      'Purchased List': -0.7,
      'Content Syndication': -0.2,
      'Phone Inquiry': -0.3,
    },
    seniorityEffect: {
      'C-Level': -0.3,
      VP: -0.2,
      Director: -0.1,
      Manager: 0.0,
      'Individual Contributor': 0.1,
      Student: 0.3,
    },
    intentPerPoint: 0.01,
  },
  quadratureNodes: 32,
};

function effect(table: Record<string, number>, key: string, what: string): number {
  const v = table[key];
  if (v === undefined) throw new Error(`ground truth: no ${what} effect for '${key}'`);
  return v;
}

/** β·x: the static log-hazard shift of conversion. */
export function computeEta(d: LeadDrivers, p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS): number {
  const c = p.conversion;
  const logSize = Math.log10(Math.max(1, d.employees));
  let eta =
    effect(c.sourceEffect, d.leadSource, 'source') +
    effect(c.industryEffect, d.industry, 'industry') +
    effect(c.seniorityEffect, d.seniority, 'seniority') +
    effect(c.countryEffect, d.country, 'country') +
    c.sizeMax -
    c.sizeCurvature * (logSize - c.sizePeakLog10) ** 2 +
    c.intentPerPoint * (d.intentScore - 50) +
    c.perCampaignTouch * Math.min(d.campaignCount, c.maxCampaignTouches);
  if (d.campaign !== null) eta += effect(c.campaignEffect, d.campaign, 'campaign');
  if (d.custom && p.customFields) eta += customFieldEffect(d.custom, p.customFields);
  if (d.erp !== null) {
    eta +=
      (d.erp.isCustomer ? c.erpCustomer : 0) +
      c.erpPerProduct * Math.min(d.erp.productsHeld, c.erpMaxProducts) +
      effect(c.erpPaymentEffect, d.erp.paymentStatus, 'payment status');
  }
  return eta;
}

/** Static log multiplier of all event rates. */
export function computeEventLogMultiplier(
  d: LeadDrivers,
  p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS,
): number {
  const e = p.events;
  return (
    effect(e.sourceEffect, d.leadSource, 'event source') +
    effect(e.seniorityEffect, d.seniority, 'event seniority') +
    e.intentPerPoint * (d.intentScore - 50)
  );
}

/** Calendar factor of the conversion hazard on a UTC day: weekend dip, quarter-end push, late-December dip. */
export function seasonFactor(ms: number, p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS): number {
  const s = p.season;
  const date = new Date(ms);
  const weekday = date.getUTCDay();
  const month = date.getUTCMonth(); // 0-based
  const day = date.getUTCDate();
  let f = weekday === 0 || weekday === 6 ? s.weekendFactor : 1;
  if (month % 3 === 2) {
    const daysInMonth = new Date(Date.UTC(date.getUTCFullYear(), month + 1, 0)).getUTCDate();
    if (day > daysInMonth - s.quarterEndDays) f *= s.quarterEndFactor;
  }
  if ((month === 11 && day >= s.lateDecemberFromDay) || (month === 0 && day === 1)) f *= s.lateDecemberFactor;
  if (p.drift) {
    const years = (ms - Date.parse(p.drift.fromIso)) / (365.25 * DAY_MS);
    if (years > 0) f *= Math.exp(p.drift.conversionLogPerYear * years);
  }
  return f;
}

/** Age shape of the conversion hazard at age-day j (midpoint j + 0.5). */
export function ageCurve(j: number, p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS): number {
  const a = j + 0.5;
  return (1 - Math.exp(-a / p.conversion.ageRiseDays)) * Math.exp(-a / p.conversion.ageDecayDays);
}

/** Disqualification hazard at age-day j: independent of u, rises with age. */
export function closeHazard(j: number, p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS): number {
  return p.close.basePerDay + p.close.slopePerDay * (j + 0.5);
}

/** Event-rate age decay and its integral D(a) = ∫₀ᵃ decay. */
export function eventDecay(a: number, p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS): number {
  const { decayFloor: f, decayDays: tau } = p.events;
  return f + (1 - f) * Math.exp(-a / tau);
}

export function eventExposure(a: number, p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS): number {
  const { decayFloor: f, decayDays: tau } = p.events;
  return f * a + (1 - f) * tau * (1 - Math.exp(-a / tau));
}

/** Inverse of eventExposure by Newton from a point left of the root (D is concave, so iterates stay left). */
function inverseExposure(y: number, start: number, p: GroundTruthParams): number {
  let a = start;
  for (let i = 0; i < 50; i++) {
    const step = (eventExposure(a, p) - y) / eventDecay(a, p);
    a -= step;
    if (Math.abs(step) < 1e-12) break;
  }
  return a;
}

/**
 * Per-lead hazard schedule on age-days: conv[j] = h0·exp(η)·ageCurve(j)·season(c + j + ½), close[j] = q(j).
 * The conversion hazard at latent u is conv[j]·exp(γu).
 */
export class HazardSchedule {
  readonly conv: Float64Array;
  readonly close: Float64Array;
  /** convCum[j] = Σ_{i<j} conv[i]. */
  readonly convCum: Float64Array;

  constructor(
    readonly createdMs: number,
    readonly eta: number,
    readonly params: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS,
  ) {
    const shapes = sharedShapes(params);
    const n = params.conversion.maxOpenDays;
    const scale = params.conversion.baseHazardPerDay * Math.exp(eta);
    this.conv = new Float64Array(n);
    this.convCum = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) {
      const h = scale * (shapes.age[j] ?? 0) * seasonFactor(createdMs + (j + 0.5) * DAY_MS, params);
      this.conv[j] = h;
      this.convCum[j + 1] = (this.convCum[j] ?? 0) + h;
    }
    this.close = shapes.close;
  }

  /** ∫₀ᵃ base conversion hazard (without exp(γu)). */
  cumulativeConversion(ageDays: number): number {
    const n = this.conv.length;
    if (ageDays >= n) return this.convCum[n] ?? 0;
    const j = Math.floor(ageDays);
    return (this.convCum[j] ?? 0) + (this.conv[j] ?? 0) * (ageDays - j);
  }
}

const shapeCache = new WeakMap<GroundTruthParams, { age: Float64Array; close: Float64Array; gh: GhLog }>();
interface GhLog {
  nodes: Float64Array;
  /** log(weight) + node²: the Gauss–Hermite weight for integrating against a unit density. */
  logWeights: Float64Array;
}

function sharedShapes(p: GroundTruthParams): { age: Float64Array; close: Float64Array; gh: GhLog } {
  let s = shapeCache.get(p);
  if (!s) {
    const n = p.conversion.maxOpenDays;
    const age = new Float64Array(n);
    const close = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      age[j] = ageCurve(j, p);
      close[j] = closeHazard(j, p);
    }
    const rule = gaussHermite(p.quadratureNodes);
    const logWeights = rule.weights.map((w, i) => Math.log(w) + (rule.nodes[i] ?? 0) ** 2);
    s = { age, close, gh: { nodes: rule.nodes, logWeights } };
    shapeCache.set(p, s);
  }
  return s;
}

export interface SimulatedOutcome {
  outcome: 'converted' | 'closed' | 'open';
  /** Epoch ms of conversion/closing; null when still open at dataEnd. */
  atMs: number | null;
  autoClosed: boolean;
}

/** Draws the competing-risk outcome (conversion vs disqualification vs auto-close at maxOpenDays). */
export function simulateOutcome(
  schedule: HazardSchedule,
  latentInterest: number,
  dataEndMs: number,
  rng: Rng,
): SimulatedOutcome {
  const p = schedule.params;
  const lift = Math.exp(p.conversion.latentCoefficient * latentInterest);
  const c = schedule.createdMs;
  const target = rng.exp();
  const coin = rng.next();
  let cum = 0;
  for (let j = 0; j < schedule.conv.length; j++) {
    if (c + j * DAY_MS >= dataEndMs) return { outcome: 'open', atMs: null, autoClosed: false };
    const h = (schedule.conv[j] ?? 0) * lift;
    const total = h + (schedule.close[j] ?? 0);
    if (cum + total >= target) {
      const atMs = Math.floor(c + (j + (target - cum) / total) * DAY_MS);
      if (atMs >= dataEndMs) return { outcome: 'open', atMs: null, autoClosed: false };
      return { outcome: coin < h / total ? 'converted' : 'closed', atMs, autoClosed: false };
    }
    cum += total;
  }
  const autoAt = c + schedule.conv.length * DAY_MS;
  if (autoAt >= dataEndMs) return { outcome: 'open', atMs: null, autoClosed: false };
  return { outcome: 'closed', atMs: autoAt, autoClosed: true };
}

export interface SimulatedEvent {
  typeIndex: number;
  atMs: number;
}

/**
 * Superposed Poisson processes with intensity R_k·decay(age), R_k = r_k·exp(L + δ_k·u − δ_k²σ²/2):
 * arrivals are unit-rate exponential gaps on the exposure scale D(a)·ΣR_k, mapped back through D⁻¹.
 * Events exist only in [created, endMs) (endMs = min(close, dataEnd)).
 */
export function simulateEvents(
  createdMs: number,
  endMs: number,
  eventLogMultiplier: number,
  latentInterest: number,
  rng: Rng,
  p: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS,
): SimulatedEvent[] {
  const rates = eventRates(eventLogMultiplier, latentInterest, p);
  let total = 0;
  for (const r of rates) total += r;
  const maxAge = (endMs - createdMs) / DAY_MS;
  const maxExposure = eventExposure(maxAge, p);
  const out: SimulatedEvent[] = [];
  let y = 0;
  let age = 0;
  for (;;) {
    y += rng.exp() / total;
    if (y >= maxExposure) break;
    age = inverseExposure(y, age, p);
    const atMs = Math.floor(createdMs + age * DAY_MS);
    if (atMs >= endMs) break;
    out.push({ typeIndex: rng.weightedIndex(rates), atMs });
  }
  return out;
}

function eventRates(eventLogMultiplier: number, u: number, p: GroundTruthParams): number[] {
  const s2 = p.latentSigma * p.latentSigma;
  return EVENT_TYPES.map((t) => {
    const { ratePerDay, latentLoading: d } = p.events.types[t];
    return ratePerDay * Math.exp(eventLogMultiplier + d * u - (d * d * s2) / 2);
  });
}

/**
 * Bayes-optimal P(convert in (t, t+H] | observable info at t), for a lead open at t:
 * posterior(u) ∝ N(u; 0, σ²) · Π_k Poisson-process likelihood of n_k events on [c, t] · P(not converted by t | u)
 * (the disqualification survival does not depend on u and cancels), integrated with adaptive Gauss–Hermite
 * quadrature around the posterior mode; P(convert in window | u) is the exact competing-risk sum over age-days.
 *
 * @param counts events per type observed in [created, t], in EVENT_TYPES order
 */
export function bayesProbabilityFromCounts(
  schedule: HazardSchedule,
  eventLogMultiplier: number,
  counts: ArrayLike<number>,
  ageDays: number,
  horizonDays: number,
): number {
  const p = schedule.params;
  const maxAge = schedule.conv.length;
  if (ageDays < 0) throw new Error('snapshot before lead creation');
  if (ageDays >= maxAge || horizonDays <= 0) return 0;
  const sigma2 = p.latentSigma * p.latentSigma;
  const gamma = p.conversion.latentCoefficient;
  const exposure = eventExposure(ageDays, p);
  const k = EVENT_TYPES.length;
  const loadings = new Float64Array(k);
  const expected = new Float64Array(k); // A_k: expected count at u = 0 factor
  let linear = 0;
  for (let i = 0; i < k; i++) {
    const { ratePerDay, latentLoading: d } = p.events.types[EVENT_TYPES[i] as EventType];
    loadings[i] = d;
    expected[i] = exposure * ratePerDay * Math.exp(eventLogMultiplier - (d * d * sigma2) / 2);
    linear += (counts[i] ?? 0) * d;
  }
  const convSoFar = schedule.cumulativeConversion(ageDays);

  // log posterior (unnormalised) and its derivatives; strictly concave.
  const logPost = (u: number): number => {
    let v = -(u * u) / (2 * sigma2) + linear * u - convSoFar * Math.exp(gamma * u);
    for (let i = 0; i < k; i++) v -= (expected[i] ?? 0) * Math.exp((loadings[i] ?? 0) * u);
    return v;
  };
  const derivs = (u: number): [number, number] => {
    const eg = convSoFar * Math.exp(gamma * u);
    let g1 = -u / sigma2 + linear - gamma * eg;
    let g2 = -1 / sigma2 - gamma * gamma * eg;
    for (let i = 0; i < k; i++) {
      const d = loadings[i] ?? 0;
      const e = (expected[i] ?? 0) * Math.exp(d * u);
      g1 -= d * e;
      g2 -= d * d * e;
    }
    return [g1, g2];
  };
  // Safeguarded Newton on the decreasing score g'(u).
  let lo = -1;
  let hi = 1;
  while (derivs(lo)[0] < 0) lo *= 2;
  while (derivs(hi)[0] > 0) hi *= 2;
  let mode = Math.min(Math.max(0, lo), hi);
  for (let iter = 0; iter < 100; iter++) {
    const [g1, g2] = derivs(mode);
    if (g1 > 0) lo = mode;
    else hi = mode;
    let next = mode - g1 / g2;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - mode) < 1e-11) {
      mode = next;
      break;
    }
    mode = next;
  }
  const scale = Math.sqrt(-1 / derivs(mode)[1]);
  const gh = sharedShapes(p).gh;
  const peak = logPost(mode);
  const windowEnd = Math.min(ageDays + horizonDays, maxAge);
  let num = 0;
  let den = 0;
  for (let i = 0; i < gh.nodes.length; i++) {
    const u = mode + Math.SQRT2 * scale * (gh.nodes[i] ?? 0);
    const w = Math.exp((gh.logWeights[i] ?? 0) + logPost(u) - peak);
    if (!(w > 1e-300)) continue;
    den += w;
    num += w * windowConversion(schedule, Math.exp(gamma * u), ageDays, windowEnd);
  }
  return num / den;
}

/** P(convert in (a0, a1] | open at a0, u) with the competing disqualification hazard. */
function windowConversion(schedule: HazardSchedule, lift: number, a0: number, a1: number): number {
  let survival = 1;
  let prob = 0;
  let a = a0;
  while (a < a1) {
    const j = Math.floor(a);
    const len = Math.min(j + 1, a1) - a;
    const h = (schedule.conv[j] ?? 0) * lift;
    const total = h + (schedule.close[j] ?? 0);
    const stay = Math.exp(-total * len);
    prob += survival * (h / total) * (1 - stay);
    survival *= stay;
    a = j + 1;
  }
  return prob;
}

export interface ObservedEvent {
  type: string;
  occurredAt: string;
}

/** Event counts per type (EVENT_TYPES order) with occurredAt in [created, t]. */
export function countEventsUpTo(events: readonly ObservedEvent[], createdMs: number, tMs: number): number[] {
  const counts = EVENT_TYPES.map(() => 0);
  for (const e of events) {
    const at = parseDateTime(e.occurredAt);
    if (at < createdMs || at > tMs) continue;
    const i = EVENT_TYPES.indexOf(e.type as EventType);
    if (i < 0) throw new Error(`unknown event type ${e.type}`);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/**
 * Bayes-optimal probability that `truth`'s lead converts in (t, t + horizonDays], given everything observable at t:
 * its static drivers, its age, that it is still open at t, and its engagement events up to t (later events in
 * `events` are ignored). Uses only truth.createdAt, truth.eta and truth.eventLogMultiplier (never u or the outcome).
 */
export function bayesConversionProbability(
  truth: Pick<LeadGroundTruth, 'createdAt' | 'eta' | 'eventLogMultiplier'>,
  events: readonly ObservedEvent[],
  t: Date | string | number,
  horizonDays: number,
  params: GroundTruthParams = DEFAULT_GROUND_TRUTH_PARAMS,
): number {
  const createdMs = parseDateTime(truth.createdAt);
  const tMs = typeof t === 'number' ? t : typeof t === 'string' ? parseDateTime(t) : t.getTime();
  const schedule = new HazardSchedule(createdMs, truth.eta, params);
  const counts = countEventsUpTo(events, createdMs, tMs);
  return bayesProbabilityFromCounts(
    schedule,
    truth.eventLogMultiplier,
    counts,
    (tMs - createdMs) / DAY_MS,
    horizonDays,
  );
}

/**
 * The standard snapshot design: creation + 1 day, then every 7 days, while the lead is open at t and
 * t + H ≤ dataEnd. Returns epoch ms.
 */
export function standardSnapshotTimes(
  createdMs: number,
  outcomeAtMs: number | null,
  dataEndMs: number,
  horizonDays: number,
): number[] {
  const out: number[] = [];
  for (let t = createdMs + DAY_MS; t + horizonDays * DAY_MS <= dataEndMs; t += 7 * DAY_MS) {
    if (outcomeAtMs !== null && outcomeAtMs <= t) break;
    out.push(t);
  }
  return out;
}

/** Label of a snapshot: converted in (t, t + H]. */
export function snapshotLabel(
  outcome: LeadGroundTruth['outcome'],
  outcomeAtMs: number | null,
  tMs: number,
  horizonDays: number,
): boolean {
  return (
    outcome === 'converted' &&
    outcomeAtMs !== null &&
    outcomeAtMs > tMs &&
    outcomeAtMs <= tMs + horizonDays * DAY_MS
  );
}
