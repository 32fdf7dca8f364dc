// Operator semantics shared with the Apex engine (LeadRulesScorer.cls); docs/salesforce.md has the table.
// Kept hand-written: no library evaluates Salesforce-style field conditions with these null rules.

export const OPERATORS = [
  'equals',
  'notEquals',
  'greaterThan',
  'greaterOrEqual',
  'lessThan',
  'lessOrEqual',
  'in',
  'notIn',
  'contains',
  'isNull',
  'isNotNull',
] as const;
export type Operator = (typeof OPERATORS)[number];

export type ScalarValue = string | number | boolean;
export type ConditionValue = ScalarValue | readonly string[] | readonly number[] | undefined;

/** Salesforce stores empty text as null, so '' counts as null too. */
export function isNullValue(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Same-type equality; strings compare case-insensitively, as picklists do in SOQL. */
function scalarEquals(fieldValue: unknown, ruleValue: ScalarValue): boolean {
  if (typeof ruleValue === 'string') {
    return typeof fieldValue === 'string' && fieldValue.toLowerCase() === ruleValue.toLowerCase();
  }
  return typeof fieldValue === typeof ruleValue && fieldValue === ruleValue;
}

function compareNumbers(
  fieldValue: unknown,
  ruleValue: ConditionValue,
  test: (a: number, b: number) => boolean,
) {
  return isNumber(fieldValue) && isNumber(ruleValue) && test(fieldValue, ruleValue);
}

// Array.isArray does not narrow readonly arrays.
function isList(value: ConditionValue): value is readonly string[] | readonly number[] {
  return Array.isArray(value);
}

function isScalar(value: ConditionValue): value is ScalarValue {
  return value !== undefined && !isList(value);
}

function inList(fieldValue: unknown, ruleValue: ConditionValue): boolean {
  return isList(ruleValue) && ruleValue.some((item: ScalarValue) => scalarEquals(fieldValue, item));
}

/**
 * A null field satisfies only `isNull`: every other operator, negative ones included, is false on null,
 * so a missing value never earns or loses points by accident.
 */
export function evaluateCondition(
  operator: Operator,
  fieldValue: unknown,
  ruleValue: ConditionValue,
): boolean {
  if (operator === 'isNull') return isNullValue(fieldValue);
  if (operator === 'isNotNull') return !isNullValue(fieldValue);
  if (isNullValue(fieldValue)) return false;
  switch (operator) {
    case 'equals':
      return isScalar(ruleValue) && scalarEquals(fieldValue, ruleValue);
    case 'notEquals':
      return isScalar(ruleValue) && !scalarEquals(fieldValue, ruleValue);
    case 'greaterThan':
      return compareNumbers(fieldValue, ruleValue, (a, b) => a > b);
    case 'greaterOrEqual':
      return compareNumbers(fieldValue, ruleValue, (a, b) => a >= b);
    case 'lessThan':
      return compareNumbers(fieldValue, ruleValue, (a, b) => a < b);
    case 'lessOrEqual':
      return compareNumbers(fieldValue, ruleValue, (a, b) => a <= b);
    case 'in':
      return inList(fieldValue, ruleValue);
    case 'notIn':
      return isList(ruleValue) && !inList(fieldValue, ruleValue);
    case 'contains':
      return (
        typeof fieldValue === 'string' &&
        typeof ruleValue === 'string' &&
        fieldValue.toLowerCase().includes(ruleValue.toLowerCase())
      );
  }
}
