// The one interpreter of a feature spec: turns config/features/<target>.json into the definitions that
// `computeFeatures` runs, for training sets (snapshotsOf) and for serving (the store's inputs) alike.
// No feature is computed anywhere else.
// The free-mail reading lives in inputs/, where the store takes the flag on the way in (it keeps no email).
import {
  emailIsFreeMail,
  GLOBAL_CONTEXT_KEY,
  parseSalesforceDateTime,
  type ContextDeclarations,
  type FeatureInputs,
  type LeadField,
} from '../inputs/index.js';
import type { FeatureDefinition, FeatureKind, FeatureSource, FeatureValue } from './definitions.js';
import { CALENDAR, daysSince, titleSeniority } from './derivations.js';
import type { FeatureConfig, SpecFeature, SpecSource, SpecTransform } from './spec-schema.js';

/** What a spec may read beyond the lead profile: parent records by relationship name (Account via lookup). */
export type SpecInputs = FeatureInputs & {
  parents?: Readonly<Record<string, Readonly<Record<string, unknown>> | null>>;
};

type Reader = (inputs: SpecInputs, asOfMs: number) => unknown;

function fieldReader(path: string): Reader {
  const [first, second] = path.split('.') as [string, string | undefined];
  // A field outside the fixed profile is in its `custom` bag (sync fills it from the active spec's fields);
  // a training set built from raw records has it at the top level. Either way the same value.
  if (second === undefined)
    return (i) => (i.lead as Record<string, unknown>)[first] ?? i.lead.custom?.[first] ?? null;
  return (i) => i.parents?.[first]?.[second] ?? null;
}

/** The spec's contexts as the inputs check rows against them (key field, or null for a global context). */
export function contextDeclarations(config: FeatureConfig): ContextDeclarations {
  return Object.fromEntries(
    Object.entries(config.contexts ?? {}).map(([name, c]) => [
      name,
      { keyField: c.key === 'global' ? null : c.key.field, columns: c.columns },
    ]),
  );
}

/**
 * A context column: the key is read from the record at the instant (its field may change), then the row of
 * (context, key) in effect at the instant, the same lookup for a snapshot in the past and for serving now.
 */
function contextReader(context: string, column: string, keyField: string | null): Reader {
  const keyOf: Reader = keyField === null ? () => GLOBAL_CONTEXT_KEY : fieldReader(keyField);
  return (i, asOfMs) => {
    if (!i.context) return null;
    const key = keyOf(i, asOfMs);
    if (key === null || key === undefined || key === '') return null;
    return i.context.asOf(context, String(key), asOfMs)?.values[column] ?? null;
  };
}

function sourceReader(source: SpecSource, contexts: ContextDeclarations): Reader {
  if ('field' in source) return fieldReader(source.field);
  if ('context' in source)
    return contextReader(source.context, source.column, contexts[source.context]?.keyField ?? null);
  if ('extract' in source) {
    const column = source.column;
    return source.extract === 'erp'
      ? (i) => (i.erp as Record<string, unknown> | null)?.[column] ?? null
      : (i) => (i.marketing as Record<string, unknown> | null)?.[column] ?? null;
  }
  return () => null; // event sources are read by the event transforms
}

function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

function asBoolean(v: unknown): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return null;
}

function asDateMs(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const ms = parseSalesforceDateTime(v);
  return Number.isFinite(ms) ? ms : null;
}

export function kindOf(transform: SpecTransform): FeatureKind {
  switch (transform.kind) {
    case 'boolean':
    case 'present':
    case 'free-mail':
      return 'boolean';
    case 'categorical':
    case 'picklist':
    case 'title-seniority':
      return 'categorical';
    default:
      return 'numeric';
  }
}

function compileOne(
  f: SpecFeature,
  contexts: ContextDeclarations,
): (inputs: SpecInputs, asOfMs: number) => FeatureValue {
  const read = sourceReader(f.source, contexts);
  const t = f.transform;
  const eventType = 'events' in f.source ? f.source.events : null;
  switch (t.kind) {
    case 'numeric': {
      const { log, clip } = t;
      return (i, asOf) => {
        let x = asNumber(read(i, asOf));
        if (x === null) return null;
        if (clip?.min !== undefined && x < clip.min) x = clip.min;
        if (clip?.max !== undefined && x > clip.max) x = clip.max;
        if (log) return x > -1 ? Math.log1p(x) : null;
        return x;
      };
    }
    case 'boolean':
      return (i, asOf) => asBoolean(read(i, asOf));
    case 'present':
      return (i, asOf) => Boolean(read(i, asOf));
    case 'categorical': {
      const fold = t.caseFold === true;
      return (i, asOf) => {
        const v = read(i, asOf);
        if (v === null || v === undefined) return null;
        const s = String(v);
        return fold ? s.toLowerCase() : s;
      };
    }
    case 'picklist': {
      const allowed = new Set(t.values);
      return (i, asOf) => {
        const v = read(i, asOf);
        return typeof v === 'string' && allowed.has(v) ? v : null;
      };
    }
    case 'days-since':
      return (i, asOf) => daysSince(asDateMs(read(i, asOf)), asOf);
    case 'ratio': {
      const den = fieldReader(t.denominator.field);
      return (i, asOf) => {
        const a = asNumber(read(i, asOf));
        const b = asNumber(den(i, asOf));
        return a === null || b === null || b === 0 ? null : a / b;
      };
    }
    case 'event-count': {
      const days = t.windowDays;
      return (i, asOf) =>
        eventType && eventType !== 'any' ? i.events.countInWindow(eventType, days, asOf) : null;
    }
    case 'event-total':
      return (i) => (eventType && eventType !== 'any' ? i.events.total(eventType) : null);
    case 'event-recency':
      return (i, asOf) =>
        daysSince(
          eventType === 'any' ? i.events.lastAt() : eventType ? i.events.lastAt(eventType) : null,
          asOf,
        );
    case 'title-seniority':
      return (i, asOf) => {
        const v = read(i, asOf);
        return titleSeniority(typeof v === 'string' ? v : null);
      };
    case 'free-mail': {
      // A stored profile has no Email, only the flag derived from it on the way in (inputs/profile-minimization).
      const storedFlag = 'field' in f.source && f.source.field === 'Email';
      return (i, asOf) => {
        const v = read(i, asOf);
        if (typeof v === 'string') return emailIsFreeMail(v);
        return storedFlag ? i.lead.EmailIsFreeMail : null;
      };
    }
  }
}

function featureSource(f: SpecFeature): FeatureSource {
  const s = f.source;
  if ('field' in s) {
    const fields = [s.field, ...(f.transform.kind === 'ratio' ? [f.transform.denominator.field] : [])];
    return { kind: 'crm', fields: fields as LeadField[] };
  }
  if ('extract' in s) return { kind: s.extract === 'erp' ? 'erp-extract' : 'marketing-extract' };
  if ('context' in s) return { kind: 'context', context: s.context, column: s.column };
  const windowDays = f.transform.kind === 'event-count' ? f.transform.windowDays : undefined;
  return { kind: 'events', eventType: s.events, ...(windowDays !== undefined ? { windowDays } : {}) };
}

/** The definitions a (validated) spec describes, in spec order, calendar features last when enabled. */
export function interpretSpec(config: FeatureConfig): FeatureDefinition[] {
  const contexts = contextDeclarations(config);
  const defs: FeatureDefinition[] = config.features.map((f) => {
    const t = f.transform;
    const nonIdentifying = t.kind === 'title-seniority' || t.kind === 'free-mail';
    return {
      name: f.name,
      kind: kindOf(t),
      source: featureSource(f),
      description: f.description,
      ...(nonIdentifying ? { derivation: 'non-identifying' as const } : {}),
      ...(f.override ? { override: f.override.reason } : {}),
      ...(t.kind === 'categorical' && (t.topK !== undefined || t.other || t.minCount !== undefined)
        ? {
            categoryPolicy: {
              ...(t.topK !== undefined ? { topK: t.topK } : {}),
              ...(t.minCount !== undefined ? { minCount: t.minCount } : {}),
              other: t.other === true,
            },
          }
        : {}),
      ...(t.kind === 'picklist' ? { categoryPolicy: { values: t.values, other: false } } : {}),
      missing: f.missing ?? null,
      compute: compileOne(f, contexts),
    };
  });
  if (config.calendar) {
    for (const [name, c] of Object.entries(CALENDAR)) {
      defs.push({
        name,
        kind: 'numeric',
        source: { kind: 'calendar' },
        description: c.description,
        missing: null,
        compute: (_i, t) => c.compute(t),
      });
    }
  }
  return defs;
}
