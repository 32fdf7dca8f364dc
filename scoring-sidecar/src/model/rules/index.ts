// Rules-based scoring: the fallback when the model is unavailable; same semantics as the Apex engine.
export { evaluateCondition, isNullValue, OPERATORS, type Operator } from './conditions.js';
export { isPseudoField, leadFieldValue, PSEUDO_FIELDS, type LeadRecord } from './lead-values.js';
export {
  loadRuleSet,
  parseRuleSet,
  RuleSetError,
  type Band,
  type RuleSet,
  type ScoringRule,
} from './rule-set.js';
export { bandFor, scoreWithRules, type FiredRule, type RulesScore } from './score.js';
export {
  chooseNextBestAction,
  isEligible,
  loadActionCatalogue,
  parseActionCatalogue,
  type ActionCatalogue,
  type NextBestAction,
} from './actions.js';
