// Reason texts: the strongest SHAP contributions of a score turned into sentences for account teams, from a
// catalogue of per-feature templates (config/reasons/*.json) validated at load.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { FeatureSpec, FeatureValue } from '../features/index.js';

const PLACEHOLDER = /\{(\w+)\}/g;
const PLACEHOLDERS = new Set(['value', 'label']);

const text = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => [...t.matchAll(PLACEHOLDER)].every((m) => PLACEHOLDERS.has(m[1]!)), {
    message: 'only {value} and {label} can be interpolated',
  });

/**
 * A template: one text, or variants chosen by the value: `zero` (rounds to 0), `one`/`other` (plural rules of
 * the catalogue's locale), `true`/`false` (booleans), `missing` (no value).
 */
const template = z.union([
  text,
  z.strictObject({
    zero: text.optional(),
    one: text.optional(),
    other: text.optional(),
    true: text.optional(),
    false: text.optional(),
    missing: text.optional(),
  }),
]);
type Template = z.infer<typeof template>;

const format = z.discriminatedUnion('kind', [
  /** Whole numbers: rounded, digits grouped. */
  z.strictObject({ kind: z.literal('count') }),
  z.strictObject({
    kind: z.literal('number'),
    maximumFractionDigits: z.number().int().min(0).max(6).default(0),
    notation: z.enum(['standard', 'compact']).default('standard'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/)
      .optional(),
  }),
  /** Shown as the category text (optionally relabelled), never as the model's category code. */
  z.strictObject({ kind: z.literal('category'), labels: z.record(z.string(), z.string()).optional() }),
  z.strictObject({ kind: z.literal('boolean') }),
]);

const featureReasons = z
  .strictObject({
    /** Short human name, used by {label} and when a template has no text for a value. */
    label: z.string().min(1).max(80),
    format,
    /** For both directions, unless positive/negative is given. */
    text: template.optional(),
    positive: template.optional(),
    negative: template.optional(),
  })
  .superRefine((f, ctx) => {
    for (const direction of ['positive', 'negative'] as const) {
      const t = f[direction] ?? f.text;
      if (t === undefined) {
        ctx.addIssue({ code: 'custom', path: [direction], message: `no ${direction} text (nor "text")` });
        continue;
      }
      const needed = f.format.kind === 'boolean' ? (['true', 'false'] as const) : (['other'] as const);
      for (const key of needed) {
        if (typeof t === 'string' ? key !== 'other' : t[key] === undefined) {
          ctx.addIssue({ code: 'custom', path: [direction], message: `needs a "${key}" text` });
        }
      }
    }
  });

export const reasonCatalogueSchema = z.strictObject({
  version: z.string().min(1),
  description: z.string().optional(),
  locale: z.string().default('en-US'),
  /** Contributions (raw score units, log-odds for a binary model) smaller than this give no reason. */
  minContribution: z.number().nonnegative(),
  features: z.record(z.string(), featureReasons),
});

export type ReasonCatalogue = z.output<typeof reasonCatalogueSchema>;
type FeatureReasons = ReasonCatalogue['features'][string];

export class ReasonCatalogueError extends Error {
  override name = 'ReasonCatalogueError';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const [root, feature, ...rest] = issue.path.map(String);
  const where =
    root === 'features' && feature !== undefined
      ? `feature "${feature}"${rest.length ? ` ${rest.join('.')}` : ''}`
      : issue.path.join('.') || '(root)';
  return `${where}: ${issue.message}`;
}

/** Validates parsed JSON; `source` names the file in error messages. */
export function parseReasonCatalogue(raw: unknown, source: string): ReasonCatalogue {
  const parsed = reasonCatalogueSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ReasonCatalogueError(`${source}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  }
  return parsed.data;
}

export function loadReasonCatalogue(file: string): ReasonCatalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ReasonCatalogueError(`${file}: ${(err as Error).message}`);
  }
  return parseReasonCatalogue(raw, file);
}

/** Feature names with no entry in the catalogue (a model using them would give generic texts). */
export function featuresWithoutReasons(
  catalogue: ReasonCatalogue,
  featureNames: readonly string[],
): string[] {
  return featureNames.filter((name) => !Object.hasOwn(catalogue.features, name));
}

export interface Reason {
  feature: string;
  /** SHAP value in raw score units (log-odds for a binary model). */
  contribution: number;
  /** The feature's value as the reader sees it: category text (never the model's code), number, boolean. */
  value: string | number | boolean | null;
  text: string;
}

export interface ReasonsOptions {
  /** Reasons per direction (default 3). */
  top?: number;
  /** Overrides the catalogue's minContribution. */
  minContribution?: number;
}

type SpecEntry = FeatureSpec['features'][number];

/** A raw or encoded value, decoded for display: categories as their text, booleans from 1/0. */
function displayValue(entry: SpecEntry, v: FeatureValue | undefined): string | number | boolean | null {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
  switch (entry.kind) {
    case 'categorical':
      // A number here is the model's category code: show its text; unknown codes are missing to the model too.
      return typeof v === 'number' ? (entry.categories?.[v] ?? null) : String(v);
    case 'boolean':
      return typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 : v === 'true';
    default:
      return typeof v === 'number' ? v : null;
  }
}

const formatters = new WeakMap<FeatureReasons, { number: Intl.NumberFormat; plural: Intl.PluralRules }>();

function formattersFor(f: FeatureReasons, locale: string) {
  let cached = formatters.get(f);
  if (!cached) {
    const options: Intl.NumberFormatOptions =
      f.format.kind === 'number'
        ? {
            maximumFractionDigits: f.format.maximumFractionDigits,
            notation: f.format.notation,
            ...(f.format.currency ? { style: 'currency', currency: f.format.currency } : {}),
          }
        : { maximumFractionDigits: 0 };
    cached = { number: new Intl.NumberFormat(locale, options), plural: new Intl.PluralRules(locale) };
    formatters.set(f, cached);
  }
  return cached;
}

function roundTo(v: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(v * scale) / scale;
}

function pick(t: Template, key: 'zero' | 'one' | 'other' | 'true' | 'false' | 'missing'): string | undefined {
  if (typeof t === 'string') return key === 'missing' || key === 'true' || key === 'false' ? undefined : t;
  return t[key] ?? (key === 'zero' || key === 'one' ? t.other : undefined);
}

/** The sentence for one feature's value and direction. */
export function reasonText(
  f: FeatureReasons,
  value: string | number | boolean | null,
  direction: 'positive' | 'negative',
  locale: string,
): string {
  const t = (f[direction] ?? f.text)!;
  const fill = (s: string, shown: string) =>
    s.replace(PLACEHOLDER, (_, name: string) => (name === 'value' ? shown : f.label));
  if (value === null) return fill(pick(t, 'missing') ?? `${f.label}: unknown`, '');
  const fmt = f.format;
  if (fmt.kind === 'boolean' || typeof value === 'boolean') {
    const b = typeof value === 'boolean' ? value : value !== 0;
    return fill(pick(t, b ? 'true' : 'false') ?? `${f.label}: ${b ? 'yes' : 'no'}`, b ? 'yes' : 'no');
  }
  if (fmt.kind === 'category' || typeof value === 'string') {
    const shown = fmt.kind === 'category' ? (fmt.labels?.[String(value)] ?? String(value)) : String(value);
    return fill(pick(t, 'other') ?? `${f.label}: {value}`, shown);
  }
  const { number, plural } = formattersFor(f, locale);
  const rounded = roundTo(value, fmt.kind === 'number' ? fmt.maximumFractionDigits : 0);
  const key = rounded === 0 ? 'zero' : plural.select(rounded) === 'one' ? 'one' : 'other';
  return fill(pick(t, key) ?? `${f.label}: {value}`, number.format(rounded));
}

/**
 * The strongest reasons for and against a score. `contributions` are SHAP values in spec order (a trailing
 * expected value is ignored); `rawValues` the feature values in the same order, raw (category text) or
 * encoded (category codes, 1/0 booleans). Features missing from the catalogue get "<description>: <value>".
 */
export function reasonsFor(
  contributions: ArrayLike<number>,
  rawValues: readonly FeatureValue[] | ArrayLike<number | null>,
  spec: Pick<FeatureSpec, 'features'>,
  catalogue: ReasonCatalogue,
  options: ReasonsOptions = {},
): { positive: Reason[]; negative: Reason[] } {
  const n = spec.features.length;
  if (contributions.length < n || rawValues.length < n) {
    throw new Error(`reasonsFor: ${n} features in the spec, ${contributions.length} contributions`);
  }
  const top = options.top ?? 3;
  const threshold = options.minContribution ?? catalogue.minContribution;
  const strong: { index: number; contribution: number }[] = [];
  for (let i = 0; i < n; i++) {
    const c = contributions[i]!;
    if (Math.abs(c) >= threshold && c !== 0) strong.push({ index: i, contribution: c });
  }
  strong.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
  const positive: Reason[] = [];
  const negative: Reason[] = [];
  for (const { index, contribution } of strong) {
    const list = contribution > 0 ? positive : negative;
    if (list.length >= top) continue;
    const entry = spec.features[index]!;
    const value = displayValue(entry, rawValues[index] as FeatureValue | undefined);
    const f = catalogue.features[entry.name];
    const direction = contribution > 0 ? 'positive' : 'negative';
    const text = f
      ? reasonText(f, value, direction, catalogue.locale)
      : `${entry.description}: ${value === null ? 'unknown' : String(value)}`;
    list.push({ feature: entry.name, contribution, value, text });
  }
  return { positive, negative };
}
