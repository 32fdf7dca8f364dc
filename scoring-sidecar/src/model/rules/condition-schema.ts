// zod shapes of a field condition, shared by scoring rules and next-best-action eligibility.
import { z } from 'zod';

export const fieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a Lead field API name or a pseudo-field')
  .max(80);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const list = z.union([z.array(z.string()).nonempty(), z.array(z.number()).nonempty()]);

/** One variant per value shape, so a rule with the wrong kind of value names its operator. */
export const conditionShapes = {
  equality: { operator: z.enum(['equals', 'notEquals']), value: scalar },
  comparison: {
    operator: z.enum(['greaterThan', 'greaterOrEqual', 'lessThan', 'lessOrEqual']),
    value: z.number(),
  },
  membership: { operator: z.enum(['in', 'notIn']), value: list },
  text: { operator: z.literal('contains'), value: z.string().min(1) },
  nullness: { operator: z.enum(['isNull', 'isNotNull']), value: z.undefined().optional() },
};

export const conditionSchema = z.discriminatedUnion('operator', [
  z.strictObject({ field: fieldName, ...conditionShapes.equality }),
  z.strictObject({ field: fieldName, ...conditionShapes.comparison }),
  z.strictObject({ field: fieldName, ...conditionShapes.membership }),
  z.strictObject({ field: fieldName, ...conditionShapes.text }),
  z.strictObject({ field: fieldName, ...conditionShapes.nullness }),
]);
export type Condition = z.infer<typeof conditionSchema>;

/** Salesforce DeveloperName: letter first, no double or trailing underscore, at most 40 characters. */
export const developerName = z
  .string()
  .max(40)
  .regex(/^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*$/, 'must be a valid DeveloperName')
  .refine((name) => !name.endsWith('_'), 'must not end with an underscore');

/** Formats zod issues as "<file>: <item> '<name>' (<path>): <message>" lines. */
export function describeIssues(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  listKey: string,
  itemLabel: string,
): string {
  const items = (raw as Record<string, unknown> | null)?.[listKey];
  const lines = issues.map((issue) => {
    const [head, index, ...rest] = issue.path;
    if (head === listKey && typeof index === 'number') {
      const item = Array.isArray(items)
        ? (items[index] as { developerName?: unknown } | undefined)
        : undefined;
      const name = typeof item?.developerName === 'string' ? `'${item.developerName}' ` : '';
      const where = [`${listKey}[${index}]`, ...rest.map(String)].join('.');
      return `${itemLabel} ${name}(${where}): ${issue.message}`;
    }
    return `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`;
  });
  return `${file}: ${lines.join('; ')}`;
}
