// Loads config/features/<target>.json: JSON with positions (jsonc-parser, so an error names the line and
// column, which JSON.parse cannot) and zod for shapes, then the rules that need the whole spec: unique names,
// declared event types, known extract columns and fields, and no PII / classified / encrypted field without
// a recorded override. Errors read "<file>:<line>:<column>: <json.path>: <reason>".
import { readFileSync } from 'node:fs';
import {
  findNodeAtLocation,
  getNodeValue,
  parseTree,
  printParseErrorCode,
  type Node,
  type ParseError,
} from 'jsonc-parser';
import type { z } from 'zod';
import {
  CONTEXT_ROW_COLUMNS,
  LEAD_FIELD_SENSITIVITY,
  OPPORTUNITY_FIELD_SENSITIVITY,
  erpExtractRowSchema,
  marketingExtractRowSchema,
} from '../inputs/index.js';
import type { FeatureDefinition } from './definitions.js';
import { CALENDAR } from './derivations.js';
import { exclusionReason, TYPES_FOR, type DescribeField } from './describe-policy.js';
import { interpretSpec } from './interpreter.js';
import { featureConfigSchema, type FeatureConfig } from './spec-schema.js';
import { targetProblems } from './target.js';

export class FeatureSpecError extends Error {
  override name = 'FeatureSpecError';
}

export type Path = (string | number)[];

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

function pathText(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(root)';
}

/** The position of the deepest node along `path` that exists (a missing key points at its parent). */
function where(tree: Node | undefined, path: Path): number {
  for (let n = path.length; n >= 0; n--) {
    const node = tree && findNodeAtLocation(tree, path.slice(0, n));
    if (node) return node.parent?.type === 'property' ? node.parent.offset : node.offset;
  }
  return 0;
}

/** Options: an org's describe of the spec's object (with it, fields are checked against what the org has). */
export interface SpecCheckOptions {
  describe?: readonly DescribeField[];
}

const EXTRACT_COLUMNS = {
  erp: Object.keys(erpExtractRowSchema.shape).filter(
    (k) => k !== 'erp_account_number' && k !== 'extract_date',
  ),
  marketing: Object.keys(marketingExtractRowSchema.shape).filter(
    (k) => k !== 'lead_id' && k !== 'extract_date',
  ),
};

/** Cross-field rules; each problem as [json path, message]. */
function ruleProblems(config: FeatureConfig, opts: SpecCheckOptions): [Path, string][] {
  const problems: [Path, string][] = [];
  const names = new Set<string>(config.calendar ? Object.keys(CALENDAR) : []);
  const describe = opts.describe && new Map(opts.describe.map((f) => [f.name, f]));
  const known = (
    config.object === 'Opportunity' ? OPPORTUNITY_FIELD_SENSITIVITY : LEAD_FIELD_SENSITIVITY
  ) as Record<string, string>;
  for (const [name, c] of Object.entries(config.contexts ?? {})) {
    for (const column of Object.keys(c.columns))
      if ((CONTEXT_ROW_COLUMNS as readonly string[]).includes(column))
        problems.push([
          ['contexts', name, 'columns', column],
          `"${column}" is a column every context row has (${CONTEXT_ROW_COLUMNS.join(', ')}); name the value otherwise`,
        ]);
    if (c.key === 'global') continue;
    const field = c.key.field;
    const path: Path = ['contexts', name, 'key', 'field'];
    const d = describe?.get(field);
    if (describe && !d)
      problems.push([path, `unknown ${config.object} field "${field}" (not in the org's describe)`]);
    else if (!describe && known[field] === undefined && !field.endsWith('__c'))
      problems.push([path, `unknown ${config.object} field "${field}"`]);
    const sensitive = (d && exclusionReason(d)) ?? (known[field] && known[field] !== 'none' ? field : null);
    if (sensitive)
      problems.push([
        path,
        `${field} is PII or free text: a context may not join on it (use a code or an id field)`,
      ]);
  }
  if (config.snapshots && config.training)
    problems.push([
      ['snapshots'],
      'a spec has either "training" or the earlier "snapshots" (the same as training.snapshots), not both',
    ]);
  problems.push(...targetProblems(config));
  config.features.forEach((f, i) => {
    const at = (...p: Path): Path => ['features', i, ...p];
    if (names.has(f.name)) problems.push([at('name'), `feature "${f.name}" is defined twice`]);
    names.add(f.name);
    const t = f.transform;
    const isEvent = t.kind === 'event-count' || t.kind === 'event-total' || t.kind === 'event-recency';
    const s = f.source;
    if ('events' in s) {
      if (!isEvent)
        problems.push([at('transform', 'kind'), `an event source needs an event-* transform, not ${t.kind}`]);
      if (s.events !== 'any' && !config.eventTypes.includes(s.events))
        problems.push([at('source', 'events'), `event type "${s.events}" is not in eventTypes`]);
      if (s.events === 'any' && t.kind !== 'event-recency')
        problems.push([at('source', 'events'), `"any" reads only recency (event-recency)`]);
      return;
    }
    if (isEvent) problems.push([at('transform', 'kind'), `${t.kind} needs an events source`]);
    if ('context' in s) {
      const declared = config.contexts ?? {};
      const c = Object.prototype.hasOwnProperty.call(declared, s.context) ? declared[s.context] : undefined;
      if (!c)
        problems.push([
          at('source', 'context'),
          `context "${s.context}" is not declared in "contexts" (declared: ${Object.keys(declared).join(', ') || 'none'})`,
        ]);
      else if (!Object.prototype.hasOwnProperty.call(c.columns, s.column))
        problems.push([
          at('source', 'column'),
          `unknown column "${s.column}" of context "${s.context}" (declared: ${Object.keys(c.columns).join(', ')})`,
        ]);
      else if (t.kind === 'ratio' || t.kind === 'free-mail' || t.kind === 'title-seniority')
        problems.push([at('transform', 'kind'), `${t.kind} cannot read a context column`]);
      return;
    }
    if ('extract' in s) {
      if (!EXTRACT_COLUMNS[s.extract].includes(s.column))
        problems.push([
          at('source', 'column'),
          `unknown ${s.extract} extract column "${s.column}" (known: ${EXTRACT_COLUMNS[s.extract].join(', ')})`,
        ]);
      return;
    }
    const fields: [Path, string, string | undefined][] = [[at('source', 'field'), s.field, s.type]];
    if (t.kind === 'ratio')
      fields.push([at('transform', 'denominator', 'field'), t.denominator.field, t.denominator.type]);
    for (const [path, field, expectedType] of fields) {
      if (field.includes('.')) continue; // parent fields are checked against the parent's describe by propose
      const d = describe?.get(field);
      if (describe && !d) {
        problems.push([path, `unknown ${config.object} field "${field}" (not in the org's describe)`]);
        continue;
      }
      if (!describe && known[field] === undefined && !field.endsWith('__c'))
        problems.push([path, `unknown ${config.object} field "${field}"`]);
      if (d) {
        if (expectedType !== undefined && d.type !== expectedType)
          problems.push([path, `${field} is of type ${d.type} in the org, the spec says ${expectedType}`]);
        const readable = TYPES_FOR[t.kind];
        if (readable && !readable.includes(d.type))
          problems.push([at('transform', 'kind'), `${t.kind} cannot read ${field} (type ${d.type})`]);
      }
      const derived = t.kind === 'title-seniority' || t.kind === 'free-mail';
      const sensitive =
        (d && exclusionReason(d)) ??
        (known[field] && known[field] !== 'none'
          ? `${field} is ${known[field] === 'pii' ? 'PII' : 'free text'}`
          : null);
      if (sensitive && !derived && !f.override)
        problems.push([
          path,
          `${sensitive}: refused as a model input (derive a non-identifying value, or add "override": {"reason": …})`,
        ]);
    }
  });
  return problems;
}

/**
 * Parses JSON text with positions and checks it with `schema`, then with `rules` (json path + message each).
 * Throws `ErrorType` whose message lists "<file>:<line>:<column>: <json.path>: <reason>" per problem.
 */
export function parseJsonWithPositions<T>(
  text: string,
  file: string,
  schema: z.ZodType<T>,
  rules: (value: T) => [Path, string][] = () => [],
  ErrorType: new (message: string) => Error = FeatureSpecError,
): T {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length || !tree)
    throw new ErrorType(
      errors
        .map((e) => `${file}:${lineCol(text, e.offset)}: invalid JSON (${printParseErrorCode(e.error)})`)
        .join('\n') || `${file}: empty`,
    );
  const fail = (problems: [Path, string][]): never => {
    throw new ErrorType(
      problems
        .map(([path, msg]) => `${file}:${lineCol(text, where(tree, path))}: ${pathText(path)}: ${msg}`)
        .join('\n'),
    );
  };
  const parsed = schema.safeParse(getNodeValue(tree));
  if (!parsed.success) return fail(parsed.error.issues.map((i) => [i.path as Path, i.message]));
  const problems = rules(parsed.data);
  if (problems.length) fail(problems);
  return parsed.data;
}

/** Parses and checks a spec's text; throws FeatureSpecError naming file, line, column and field. */
export function parseFeatureConfig(text: string, file: string, opts: SpecCheckOptions = {}): FeatureConfig {
  return parseJsonWithPositions(text, file, featureConfigSchema, (config) => ruleProblems(config, opts));
}

export function loadFeatureConfig(file: string, opts: SpecCheckOptions = {}): FeatureConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new FeatureSpecError(`${file}: cannot read (${(error as Error).message})`);
  }
  return parseFeatureConfig(text, file, opts);
}

/** A spec file's feature definitions, ready for `computeFeatures`. */
export function loadFeatureSpec(file: string, opts: SpecCheckOptions = {}): FeatureDefinition[] {
  return interpretSpec(loadFeatureConfig(file, opts));
}
