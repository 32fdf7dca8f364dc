// The Salesforce package's namespace (config/salesforce.json, equal to sfdx-project.json "namespace"), so the
// sidecar names the package's custom objects and fields as a subscriber org knows them: 'ns__Lead_Score__c' in
// the managed package, 'Lead_Score__c' unpackaged. Standard names (Lead, Email) and the subscriber's own custom
// fields (a client spec's 'Industry_Segment__c') never take the prefix: only the names force-app defines do.
//
// This is the names layer of every Salesforce call: the Salesforce client (salesforce/client.ts) qualifies
// SOQL, Bulk CSV headers, object, key and record field names on the way out and gives rows back under the
// local (unprefixed) names, so the stages above keep writing 'Lead_Score__c' whatever the namespace.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { REPO_ROOT } from './paths.js';

const schema = z.strictObject({
  $comment: z.string().optional(),
  /** Salesforce namespace prefixes: a letter, then letters or digits, at most 15 characters; '' = none. */
  namespace: z
    .string()
    .regex(
      /^([A-Za-z][A-Za-z0-9]{0,14})?$/,
      'must be empty or 1-15 letters and digits, starting with a letter',
    ),
});

/** A custom API name: object or field (__c), custom metadata (__mdt), platform event (__e), relationship (__r), Big Object (__b). */
const CUSTOM = /^[A-Za-z][A-Za-z0-9_]*__(c|mdt|e|r|b)$/;
/** SOQL string literals, which are left as they are ('...' with \' escapes). */
const LITERAL = /'(?:\\.|[^'\\])*'/g;
const TOKEN = /[A-Za-z][A-Za-z0-9_]*__(?:c|mdt|e|r|b)\b/g;

export interface SalesforceNames {
  /** '' while unpackaged. */
  readonly namespace: string;
  /** 'Lead_Score__c' → 'ns__Lead_Score__c'; dotted paths per segment; other names unchanged. Idempotent. */
  qualify(name: string): string;
  /** The inverse: 'ns__Lead_Score__c' → 'Lead_Score__c'; other names unchanged. */
  local(name: string): string;
  /** Every package name in a SOQL text qualified; string literals untouched. */
  soql(text: string): string;
  /** A record's keys qualified (values untouched). */
  record<V>(record: Record<string, V>): Record<string, V>;
  /** A row's keys made local, nested relationship objects too (REST) and dotted keys per segment (Bulk CSV). */
  localRow<V>(row: Record<string, V>): Record<string, V>;
  /** A CSV's header line qualified (the rows untouched). */
  csv(text: string): string;
}

/** The loader's first name for the same interface. */
export type SalesforceConfig = SalesforceNames;

/**
 * The names layer for `namespace`. `packageNames` are the custom names force-app defines (objects, fields,
 * metadata types, events): only they are prefixed. Without the list every unprefixed custom name is (tests).
 */
export function salesforceConfig(namespace: string, packageNames?: Iterable<string>): SalesforceNames {
  const prefix = namespace ? `${namespace}__` : '';
  const owned = packageNames ? new Set([...packageNames].map((n) => n.toLowerCase())) : null;
  const isPackageName = (name: string): boolean => {
    if (!CUSTOM.test(name) || name.split('__').length > 2) return false; // a second '__' is a namespace
    if (!owned) return true;
    const lower = name.toLowerCase();
    return owned.has(lower) || (lower.endsWith('__r') && owned.has(`${lower.slice(0, -1)}c`));
  };
  const qualifyOne = (name: string) => (prefix && isPackageName(name) ? `${prefix}${name}` : name);
  const localOne = (name: string) => {
    if (!prefix || name.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return name;
    const rest = name.slice(prefix.length);
    return isPackageName(rest) ? rest : name;
  };
  const qualify = (name: string) => name.split('.').map(qualifyOne).join('.');
  const local = (name: string) => name.split('.').map(localOne).join('.');
  const localRow = <V>(row: Record<string, V>): Record<string, V> => {
    if (!prefix) return row;
    const out: Record<string, V> = {};
    for (const [k, v] of Object.entries(row)) {
      const nested = v !== null && typeof v === 'object' && !Array.isArray(v);
      out[local(k)] = nested ? (localRow(v as Record<string, unknown>) as V) : v;
    }
    return out;
  };
  return {
    namespace,
    qualify,
    local,
    soql: (text) => {
      if (!prefix) return text;
      // Names outside string literals only: WHERE Source__c = 'Model__c' keeps its literal.
      let out = '';
      let last = 0;
      for (const m of text.matchAll(LITERAL)) {
        out += text.slice(last, m.index).replace(TOKEN, qualifyOne) + m[0];
        last = m.index + m[0].length;
      }
      return out + text.slice(last).replace(TOKEN, qualifyOne);
    },
    record: (record) =>
      prefix ? Object.fromEntries(Object.entries(record).map(([k, v]) => [qualify(k), v])) : record,
    localRow,
    csv: (text) => {
      if (!prefix) return text;
      const end = text.indexOf('\n');
      const header = end < 0 ? text : text.slice(0, end);
      const qualified = header
        .split(',')
        .map((c) => (c.startsWith('"') ? `"${qualify(c.slice(1, -1))}"` : qualify(c)))
        .join(',');
      return end < 0 ? qualified : qualified + text.slice(end);
    },
  };
}

/**
 * The Score_Source__c picklist (Lead, and Score_History__c.Source__c): the sidecar's score sources as the
 * package's picklist spells them. One definition for every writer (batch delta, event write-back); picklist
 * values take no namespace.
 */
export const SCORE_SOURCE_PICKLIST = { model: 'Model', rules: 'Rules' } as const;
export type ScoreSourcePicklistValue = (typeof SCORE_SOURCE_PICKLIST)[keyof typeof SCORE_SOURCE_PICKLIST];

/** No namespace: every name as force-app spells it. */
export const UNPACKAGED: SalesforceNames = salesforceConfig('');

/**
 * The custom names the package defines, from SFDX source: custom object, metadata type and event folders under
 * objects/, and every field file (on the package's objects and the package's fields on standard objects).
 */
export function packageNamesOf(forceAppDir: string): string[] {
  const objectsDir = join(forceAppDir, 'objects');
  if (!existsSync(objectsDir)) throw new ConfigError(`${objectsDir}: the package's metadata is missing`);
  const names: string[] = [];
  for (const object of readdirSync(objectsDir)) {
    if (CUSTOM.test(object)) names.push(object);
    const fields = join(objectsDir, object, 'fields');
    if (!existsSync(fields)) continue;
    for (const file of readdirSync(fields))
      if (file.endsWith('.field-meta.xml')) names.push(file.slice(0, -'.field-meta.xml'.length));
  }
  return names;
}

function readNamespace(path: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data.namespace;
}

/** config/salesforce.json alone (the namespace; every unprefixed custom name counts as the package's). */
export function loadSalesforceConfig(path: string): SalesforceNames {
  return salesforceConfig(readNamespace(path));
}

/**
 * The names layer at start-up: `configDir`/salesforce.json's namespace, which must equal the repository's
 * sfdx-project.json "namespace" (one setting, two readers: a mismatch stops start-up naming both files), and the
 * package's names from the repository's force-app/main/default (both ship with the code, at REPO_ROOT).
 */
export function loadSalesforceNames(
  configDir = join(REPO_ROOT, 'config'),
  root = REPO_ROOT,
): SalesforceNames {
  const configFile = join(configDir, 'salesforce.json');
  const projectFile = join(root, 'sfdx-project.json');
  const namespace = readNamespace(configFile);
  let project: { namespace?: unknown };
  try {
    project = JSON.parse(readFileSync(projectFile, 'utf8')) as { namespace?: unknown };
  } catch (error) {
    throw new ConfigError(`${projectFile}: ${(error as Error).message}`);
  }
  const projectNamespace = typeof project.namespace === 'string' ? project.namespace : '';
  if (projectNamespace !== namespace)
    throw new ConfigError(
      `${configFile}: namespace '${namespace}' disagrees with ${projectFile} namespace '${projectNamespace}': ` +
        'set both to the namespace the package is built with',
    );
  return salesforceConfig(namespace, packageNamesOf(join(root, 'force-app', 'main', 'default')));
}
