// The rules-based scoring configuration (config/rules/*.json), validated at load.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { conditionShapes, describeIssues, developerName, fieldName } from './condition-schema.js';

const ruleBase = {
  developerName,
  field: fieldName,
  points: z.number().int().min(-100).max(100),
  active: z.boolean(),
  reasonText: z.string().min(1).max(255),
};

const ruleSchema = z.discriminatedUnion('operator', [
  z.strictObject({ ...ruleBase, ...conditionShapes.equality }),
  z.strictObject({ ...ruleBase, ...conditionShapes.comparison }),
  z.strictObject({ ...ruleBase, ...conditionShapes.membership }),
  z.strictObject({ ...ruleBase, ...conditionShapes.text }),
  z.strictObject({ ...ruleBase, ...conditionShapes.nullness }),
]);

export const ruleSetSchema = z
  .strictObject({
    version: z.string().min(1).max(64),
    description: z.string().optional(),
    baseScore: z.number().int(),
    clamp: z.strictObject({ min: z.number().int(), max: z.number().int() }),
    bandThresholds: z.strictObject({ A: z.number().int(), B: z.number().int(), C: z.number().int() }),
    rules: z.array(ruleSchema).min(1),
  })
  .superRefine((set, ctx) => {
    const { min, max } = set.clamp;
    const { A, B, C } = set.bandThresholds;
    if (min >= max) ctx.addIssue({ code: 'custom', path: ['clamp'], message: 'min must be below max' });
    if (!(A > B && B > C && C > min && A <= max)) {
      ctx.addIssue({
        code: 'custom',
        path: ['bandThresholds'],
        message: 'thresholds must satisfy max >= A > B > C > clamp.min',
      });
    }
    const seen = new Set<string>();
    set.rules.forEach((rule, index) => {
      if (seen.has(rule.developerName)) {
        ctx.addIssue({ code: 'custom', path: ['rules', index, 'developerName'], message: 'is a duplicate' });
      }
      seen.add(rule.developerName);
    });
  });

export type RuleSet = z.infer<typeof ruleSetSchema>;
export type ScoringRule = RuleSet['rules'][number];
export type Band = 'A' | 'B' | 'C' | 'D';

export class RuleSetError extends Error {
  override name = 'RuleSetError';
}

/** Validates parsed JSON; `source` names the file in error messages. */
export function parseRuleSet(raw: unknown, source: string): RuleSet {
  const result = ruleSetSchema.safeParse(raw);
  if (!result.success) {
    throw new RuleSetError(describeIssues(source, result.error.issues, raw, 'rules', 'rule'));
  }
  return result.data;
}

export async function loadRuleSet(file: string): Promise<RuleSet> {
  const text = await readFile(file, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new RuleSetError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseRuleSet(raw, file);
}
