// Can serving feed a model? The model's feature-spec.json records the spec configuration it was trained
// with (spec-source.ts). Same spec as the active one: the active definitions serve it. Another spec: its
// own definitions (the one interpreter) serve it when the store holds every field that spec reads; if not,
// the model is refused with the fields named. Models without a recorded spec are matched by feature name
// and kind against the active definitions (training sets written before specs were recorded).
import { LEAD_PROFILE_FIELDS } from '../inputs/index.js';
import type { FeatureDefinition } from './definitions.js';
import { featuresForSpec } from './feature-spec.js';
import { interpretSpec } from './interpreter.js';
import type { FeatureConfig } from './spec-schema.js';
import type { SpecSource } from './spec-source.js';
import type { FeatureSpec } from './training-set-file.js';

export interface ActiveSpec {
  source: SpecSource;
  definitions: readonly FeatureDefinition[];
}

/** Fields of the scored object a spec reads (a parent's field keeps its relationship prefix). */
export function objectFieldsRead(config: FeatureConfig): string[] {
  const fields = new Set<string>();
  for (const f of config.features) {
    if ('field' in f.source) fields.add(f.source.field);
    if (f.transform.kind === 'ratio') fields.add(f.transform.denominator.field);
  }
  // A context joins on a field of the record: the store must hold it to find the row in effect.
  for (const c of Object.values(config.contexts ?? {})) if (c.key !== 'global') fields.add(c.key.field);
  return [...fields];
}

/** Fields a spec reads beyond the fixed lead profile: the store keeps them in the profile's `custom` bag. */
export function customFieldsRead(config: FeatureConfig): string[] {
  const fixed = new Set<string>(LEAD_PROFILE_FIELDS);
  return objectFieldsRead(config).filter((f) => !fixed.has(f) && !f.includes('.'));
}

/** What the online store holds of a lead while `active` is the active spec: the profile plus its custom bag. */
export function storedLeadFields(active: FeatureConfig): string[] {
  return [...LEAD_PROFILE_FIELDS, ...customFieldsRead(active)];
}

const short = (hash: string) => hash.slice(0, 12);

/** The deal spec's name, for fitted specs that do not record their configuration. */
const OPPORTUNITY_SPEC_NAME = 'opportunity-win';

/** What a fitted spec's model scores: its recorded configuration's target, else by name (deal spec or lead). */
export function specTarget(spec: FeatureSpec): 'lead' | 'opportunity' {
  return spec.source?.config.target ?? (spec.name === OPPORTUNITY_SPEC_NAME ? 'opportunity' : 'lead');
}

/**
 * The definitions that compute `spec`'s features in its order, or an error saying why serving cannot feed
 * it: another target or object, fields the store does not hold (named), or a feature computed differently.
 */
export function servingDefinitions(
  spec: FeatureSpec,
  active: ActiveSpec,
  storeFields: readonly string[] = storedLeadFields(active.source.config),
): FeatureDefinition[] {
  const target = specTarget(spec);
  const serving = active.source.config.target;
  if (target !== serving)
    throw new Error(
      `${target === 'opportunity' ? 'an' : 'a'} ${target} model (spec ${spec.name}) is never served for ${serving} scoring`,
    );
  const source = spec.source;
  if (!source) return featuresForSpec(spec, active.definitions);
  if (source.hash === active.source.hash) return featuresForSpec(spec, active.definitions);
  const theirs = source.config;
  const ours = active.source.config;
  const differs = `spec ${theirs.name} (${short(source.hash)}) differs from the active spec ${ours.name} (${short(active.source.hash)})`;
  if (theirs.object !== ours.object)
    throw new Error(`${differs}: it scores ${theirs.object}, the store holds ${ours.object}`);
  const held = new Set(storeFields);
  const missing = objectFieldsRead(theirs).filter((f) => !held.has(f));
  if (missing.length)
    throw new Error(
      `${differs} and reads fields the store does not hold: ${missing.map((f) => `${theirs.object}.${f}`).join(', ')} ` +
        `(make a spec reading them active, then sync, before serving this model)`,
    );
  return featuresForSpec(spec, interpretSpec(theirs));
}
