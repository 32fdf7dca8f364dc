import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  evaluateCondition,
  leadFieldValue,
  loadRuleSet,
  parseRuleSet,
  RuleSetError,
  scoreWithRules,
  type RuleSet,
} from '../src/model/rules/index.js';

const defaultFile = join(import.meta.dirname, '..', '..', 'config', 'rules', 'default.json');
const defaultJson = JSON.parse(await readFile(defaultFile, 'utf8')) as { rules: Record<string, unknown>[] };
const scratch = await mkdtemp(join(tmpdir(), 'leadrank-rules-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

function withRule(index: number, patch: Record<string, unknown>) {
  const copy = structuredClone(defaultJson);
  copy.rules[index] = { ...copy.rules[index], ...patch };
  return copy;
}

describe('loading a rule set', () => {
  it('loads the shipped default rules', async () => {
    const ruleSet = await loadRuleSet(defaultFile);
    expect(ruleSet.rules.length).toBe(defaultJson.rules.length);
    expect(ruleSet.bandThresholds).toEqual({ A: 75, B: 50, C: 25 });
  });

  it('names the file and the rule when a value has the wrong type for its operator', async () => {
    const file = join(scratch, 'bad-value.json');
    await writeFile(file, JSON.stringify(withRule(4, { value: '1000' })));
    await expect(loadRuleSet(file)).rejects.toThrow(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: rule 'Large_Company' \\(rules\\[4\\]`),
    );
  });

  it('rejects an unknown operator, a misspelt key and a duplicate DeveloperName', () => {
    expect(() => parseRuleSet(withRule(0, { operator: 'startsWith' }), 'x.json')).toThrow(
      /rule 'Referral_Source'/,
    );
    expect(() => parseRuleSet(withRule(1, { point: 3 }), 'x.json')).toThrow(/rule 'Purchased_List'/);
    const duplicate = withRule(2, { developerName: 'Referral_Source' });
    expect(() => parseRuleSet(duplicate, 'x.json')).toThrow(
      /rule 'Referral_Source' \(rules\[2\].developerName\): is a duplicate/,
    );
  });

  it('rejects DeveloperNames Salesforce would refuse and a value on isNull', () => {
    expect(() => parseRuleSet(withRule(0, { developerName: 'Two__Underscores' }), 'x.json')).toThrow(
      RuleSetError,
    );
    expect(() => parseRuleSet(withRule(0, { developerName: '1_Leading_Digit' }), 'x.json')).toThrow(
      RuleSetError,
    );
    expect(() => parseRuleSet(withRule(9, { value: 'x' }), 'x.json')).toThrow(/rule 'Unknown_Country'/);
  });

  it('rejects band thresholds out of order', () => {
    const bad = { ...structuredClone(defaultJson), bandThresholds: { A: 50, B: 75, C: 25 } };
    expect(() => parseRuleSet(bad, 'bands.json')).toThrow(/bands.json: bandThresholds/);
  });

  it('reports a file that is not JSON', async () => {
    const file = join(scratch, 'broken.json');
    await writeFile(file, '{ "rules": [');
    await expect(loadRuleSet(file)).rejects.toThrow(/broken.json: not valid JSON/);
  });
});

describe('operators', () => {
  it('compare by type: text rules never match numbers or booleans, numeric rules never match text', () => {
    expect(evaluateCondition('equals', 5, '5')).toBe(false);
    expect(evaluateCondition('equals', 'true', true)).toBe(false);
    expect(evaluateCondition('greaterThan', '5000', 10)).toBe(false);
    expect(evaluateCondition('in', 3, ['3'])).toBe(false);
    expect(evaluateCondition('in', 3, [1, 3])).toBe(true);
    expect(evaluateCondition('notEquals', 5, '5')).toBe(true);
    expect(evaluateCondition('contains', 12345, '23')).toBe(false);
  });

  it('only isNull is true on null, undefined or empty text', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(null, undefined, ''),
        fc.constantFrom(
          ['equals', 'x'],
          ['notEquals', 'x'],
          ['greaterThan', 1],
          ['greaterOrEqual', 1],
          ['lessThan', 1],
          ['lessOrEqual', 1],
          ['in', ['x']],
          ['notIn', ['x']],
          ['contains', 'x'],
          ['isNotNull', undefined],
        ) as fc.Arbitrary<[Parameters<typeof evaluateCondition>[0], Parameters<typeof evaluateCondition>[2]]>,
        (nullish, [operator, value]) => {
          expect(evaluateCondition(operator, nullish, value)).toBe(false);
          expect(evaluateCondition('isNull', nullish, undefined)).toBe(true);
        },
      ),
    );
  });

  it('negative operators are the complement of positive ones on non-null values', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ minLength: 1 }), fc.integer(), fc.boolean()),
        fc.string(),
        (field, rule) => {
          expect(evaluateCondition('notEquals', field, rule)).toBe(!evaluateCondition('equals', field, rule));
          expect(evaluateCondition('notIn', field, [rule])).toBe(!evaluateCondition('in', field, [rule]));
        },
      ),
    );
  });
});

describe('scoring', () => {
  const tiny: RuleSet = parseRuleSet(
    {
      version: 't',
      baseScore: 50,
      clamp: { min: 0, max: 100 },
      bandThresholds: { A: 75, B: 50, C: 25 },
      rules: [
        {
          developerName: 'Big',
          field: 'NumberOfEmployees',
          operator: 'greaterThan',
          value: 0,
          points: 30,
          active: true,
          reasonText: 'big',
        },
        {
          developerName: 'Bad',
          field: 'DoNotCall',
          operator: 'equals',
          value: true,
          points: -80,
          active: true,
          reasonText: 'bad',
        },
      ],
    },
    'tiny',
  );

  it('always stays within the clamp and gives the band of the clamped score', () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: -5, max: 5 })), fc.option(fc.boolean()), (employees, dnc) => {
        const result = scoreWithRules(tiny, { NumberOfEmployees: employees, DoNotCall: dnc }, new Date());
        expect(result.score).toBeGreaterThanOrEqual(0);
        expect(result.score).toBeLessThanOrEqual(100);
        const expectedBand =
          result.score >= 75 ? 'A' : result.score >= 50 ? 'B' : result.score >= 25 ? 'C' : 'D';
        expect(result.band).toBe(expectedBand);
        expect(result.firedRules.map((r) => Math.abs(r.points))).toEqual(
          [...result.firedRules.map((r) => Math.abs(r.points))].sort((a, b) => b - a),
        );
      }),
    );
  });

  it('computes pseudo-fields from CreatedDate and LastActivityDate, null when the dates are missing', () => {
    const now = new Date('2025-06-02T12:00:00Z');
    expect(leadFieldValue({ CreatedDate: '2025-06-01T12:00:01Z' }, 'DaysSinceCreated', now)).toBe(0);
    expect(leadFieldValue({ CreatedDate: new Date('2025-05-30T12:00:00Z') }, 'DaysSinceCreated', now)).toBe(
      3,
    );
    expect(leadFieldValue({}, 'DaysSinceCreated', now)).toBeNull();
    expect(leadFieldValue({ CreatedDate: 'not a date' }, 'DaysSinceCreated', now)).toBeNull();
    expect(
      leadFieldValue(
        { CreatedDate: '2025-01-01T00:00:00Z', LastActivityDate: '2025-06-01' },
        'DaysSinceLastTouch',
        now,
      ),
    ).toBe(1);
    expect(
      leadFieldValue(
        { CreatedDate: '2025-05-01T00:00:00Z', LastActivityDate: '' },
        'DaysSinceLastTouch',
        now,
      ),
    ).toBe(32);
  });
});
