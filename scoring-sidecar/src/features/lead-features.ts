// The lead-conversion features the product serves and trains with: config/features/lead.json, read once at
// start-up and checked (a bad spec stops the process with the file, line and field).
import { join } from 'node:path';
import { REPO_ROOT } from '../config/index.js';
import type { FeatureDefinition } from './definitions.js';
import { loadFeatureSpec } from './spec-loader.js';

export const LEAD_SPEC_FILE = join(REPO_ROOT, 'config', 'features', 'lead.json');

export const LEAD_CONVERSION_FEATURES: readonly FeatureDefinition[] = loadFeatureSpec(LEAD_SPEC_FILE);
