import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRuleSet, scoreWithRules } from '../src/model/rules/index.js';

const configDir = join(import.meta.dirname, '..', '..', 'config', 'rules');

interface Vector {
  name: string;
  lead: Record<string, unknown>;
  expected: { score: number; band: string; firedRules: string[] };
}
const vectorFile = JSON.parse(await readFile(join(configDir, 'conformance-vectors.json'), 'utf8')) as {
  ruleSetVersion: string;
  now: string;
  vectors: Vector[];
};
const ruleSet = await loadRuleSet(join(configDir, 'default.json'));
const now = new Date(vectorFile.now);

describe('the TypeScript rules engine against the hand-written conformance vectors', () => {
  it('covers the rule set version the vectors were written for, with at least 30 vectors', () => {
    expect(ruleSet.version).toBe(vectorFile.ruleSetVersion);
    expect(vectorFile.vectors.length).toBeGreaterThanOrEqual(30);
  });

  it('exercises every operator of the active rules and every band', () => {
    const fired = new Set(vectorFile.vectors.flatMap((v) => v.expected.firedRules));
    const operators = new Set(ruleSet.rules.filter((r) => fired.has(r.developerName)).map((r) => r.operator));
    expect([...operators].sort()).toEqual(
      [
        'contains',
        'equals',
        'greaterOrEqual',
        'greaterThan',
        'in',
        'isNotNull',
        'isNull',
        'lessOrEqual',
        'lessThan',
        'notEquals',
        'notIn',
      ].sort(),
    );
    expect(new Set(vectorFile.vectors.map((v) => v.expected.band))).toEqual(new Set(['A', 'B', 'C', 'D']));
  });

  it.each(vectorFile.vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const result = scoreWithRules(ruleSet, vector.lead, now);
    expect({
      score: result.score,
      band: result.band,
      firedRules: result.firedRules.map((r) => r.developerName),
    }).toEqual(vector.expected);
    const textByName = new Map(ruleSet.rules.map((r) => [r.developerName, r.reasonText]));
    expect(result.reasons).toEqual(vector.expected.firedRules.map((name) => textByName.get(name)));
  });
});
