// The opportunity-win features the product serves and trains with: config/features/opportunity.json through
// the same spec interpreter as leads, read once at start-up and checked. An opportunity record becomes the
// interpreter's inputs here: its fields as the scored object, its Account as the parent `Account`.
import { join } from 'node:path';
import { REPO_ROOT } from '../config/index.js';
import { EventAggregates, type OpportunityRecord } from '../inputs/index.js';
import type { FeatureDefinition } from './definitions.js';
import type { SpecInputs } from './interpreter.js';
import { loadFeatureConfig } from './spec-loader.js';
import { activeSpecFrom } from './lead-features.js';
import type { ActiveSpec } from './servability.js';

export const OPPORTUNITY_SPEC_FILE = join(REPO_ROOT, 'config', 'features', 'opportunity.json');

export const OPPORTUNITY_CONFIG = loadFeatureConfig(OPPORTUNITY_SPEC_FILE);
/** The opportunity spec as serving's active spec for deal models (its definitions and recorded source). */
export const OPPORTUNITY_ACTIVE_SPEC: ActiveSpec = activeSpecFrom(OPPORTUNITY_SPEC_FILE, OPPORTUNITY_CONFIG);
export const OPPORTUNITY_WIN_FEATURES: readonly FeatureDefinition[] = OPPORTUNITY_ACTIVE_SPEC.definitions;

const NO_EVENTS = new EventAggregates();

/** The interpreter's inputs for one opportunity (no events or extracts: a deal reads its record). */
export function opportunityInputs(record: OpportunityRecord): SpecInputs {
  const { Account, ...fields } = record;
  return {
    lead: fields as never,
    events: NO_EVENTS,
    erp: null,
    marketing: null,
    parents: { Account: Account ?? null },
  };
}
