// The active lead spec: config/features/lead.json, or the file $LEADRANK_FEATURE_SPEC names (a client's own
// spec, e.g. config/features/x-education.json), read once at start-up and checked (a bad spec stops the
// process with the file, line and field). Sync stores what it reads; serving and training compute it.
import { isAbsolute, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../config/index.js';
import type { FeatureDefinition } from './definitions.js';
import { interpretSpec } from './interpreter.js';
import type { ActiveSpec } from './servability.js';
import { loadFeatureConfig } from './spec-loader.js';
import type { FeatureConfig } from './spec-schema.js';
import { specSource } from './spec-source.js';

export const FEATURE_SPEC_ENV = 'LEADRANK_FEATURE_SPEC';
export const LEAD_SPEC_FILE = join(REPO_ROOT, 'config', 'features', 'lead.json');

/** The spec file serving uses: $LEADRANK_FEATURE_SPEC (relative to the repository) or the lead spec. */
export function activeSpecFile(env: NodeJS.ProcessEnv = process.env): string {
  const file = env[FEATURE_SPEC_ENV]?.trim();
  if (!file) return LEAD_SPEC_FILE;
  return isAbsolute(file) ? file : resolve(REPO_ROOT, file);
}

/** A spec file as the active spec: its configuration, the definitions it gives and its recorded source. */
export function activeSpecFrom(file: string, config: FeatureConfig = loadFeatureConfig(file)): ActiveSpec {
  return {
    source: specSource(config, relative(REPO_ROOT, file)),
    definitions: interpretSpec(config),
  };
}

export const ACTIVE_SPEC: ActiveSpec = activeSpecFrom(activeSpecFile());
export const LEAD_FEATURE_CONFIG: FeatureConfig = ACTIVE_SPEC.source.config;
export const LEAD_CONVERSION_FEATURES: readonly FeatureDefinition[] = ACTIVE_SPEC.definitions;
