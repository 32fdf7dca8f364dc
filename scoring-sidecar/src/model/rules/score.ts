// Rules-based score of one lead: base + points of every active rule that fires, clamped, then banded.
import { evaluateCondition } from './conditions.js';
import { leadFieldValue, type LeadRecord } from './lead-values.js';
import type { Band, RuleSet, ScoringRule } from './rule-set.js';

export interface FiredRule {
  developerName: string;
  points: number;
  reasonText: string;
}

export interface RulesScore {
  score: number;
  band: Band;
  /** Fired rules' texts, strongest (largest |points|) first. */
  reasons: string[];
  firedRules: FiredRule[];
  ruleSetVersion: string;
}

export function bandFor(score: number, thresholds: RuleSet['bandThresholds']): Band {
  if (score >= thresholds.A) return 'A';
  if (score >= thresholds.B) return 'B';
  if (score >= thresholds.C) return 'C';
  return 'D';
}

/** Strongest first; ties by DeveloperName in code-unit order, which is also how Apex compares strings. */
export function strongestFirst(a: FiredRule, b: FiredRule): number {
  const byStrength = Math.abs(b.points) - Math.abs(a.points);
  if (byStrength !== 0) return byStrength;
  if (a.developerName === b.developerName) return 0;
  return a.developerName < b.developerName ? -1 : 1;
}

export function ruleFires(rule: ScoringRule, lead: LeadRecord, now: Date): boolean {
  return evaluateCondition(rule.operator, leadFieldValue(lead, rule.field, now), rule.value);
}

export function scoreWithRules(ruleSet: RuleSet, lead: LeadRecord, now: Date): RulesScore {
  const firedRules = ruleSet.rules
    .filter((rule) => rule.active && ruleFires(rule, lead, now))
    .map(({ developerName, points, reasonText }) => ({ developerName, points, reasonText }))
    .sort(strongestFirst);
  const raw = firedRules.reduce((sum, rule) => sum + rule.points, ruleSet.baseScore);
  const score = Math.min(ruleSet.clamp.max, Math.max(ruleSet.clamp.min, raw));
  return {
    score,
    band: bandFor(score, ruleSet.bandThresholds),
    reasons: firedRules.map((rule) => rule.reasonText),
    firedRules,
    ruleSetVersion: ruleSet.version,
  };
}
