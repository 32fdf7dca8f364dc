// inputs/: the floor under store, features and ranking: what arrives about a lead (profile, engagement events,
// ERP and marketing extracts), its region, and the checks every writer applies before taking any of it.
export {
  EVENT_TYPES,
  type EventType,
  type EngagementEvent,
  engagementEventSchema,
  utcDay,
  DAY_MS,
} from './events.js';
export { EventAggregates, type EventAggregatesJson, MAX_WINDOW_DAYS } from './event-aggregates.js';
export {
  AsOfHistory,
  type ErpExtractRow,
  type MarketingExtractRow,
  erpExtractRowSchema,
  marketingExtractRowSchema,
  knownFromMs,
} from './extracts.js';
export {
  type LeadProfile,
  type LeadField,
  type Sensitivity,
  leadProfileSchema,
  leadProfileFromRow,
  applyLeadFieldChange,
  LEAD_FIELD_SENSITIVITY,
  LEAD_PROFILE_FIELDS,
  parseSalesforceDateTime,
} from './lead-profile.js';
export { type FeatureInputs } from './lead-inputs.js';
export {
  CONTEXT_ROW_COLUMNS,
  ContextTable,
  type ContextLookup,
  contextDateTooLate,
  contextRowsToKeep,
  pruneContextRows,
  GLOBAL_CONTEXT_KEY,
  MAX_CONTEXT_LEAD_DAYS,
  parseContextRow,
  type ContextColumnType,
  type ContextDeclaration,
  type ContextDeclarations,
  type ContextRow,
  type ContextRowResult,
  type ContextValue,
} from './context.js';
export { emailIsFreeMail } from './free-mail.js';
export { DROPPED_LEAD_FIELDS, minimizeLeadProfile } from './profile-minimization.js';
export { type Region } from './region.js';
export { type Refusal, RefusedInputError } from './refusals.js';
export {
  checkEvents,
  checkLeads,
  checkLinks,
  checkContextRows,
  checkRows,
  utcIsoDate,
  type CheckedEvent,
} from './input-checks.js';
export {
  OPPORTUNITY_FIELD_SENSITIVITY,
  OPPORTUNITY_ID_PATTERN,
  OPPORTUNITY_SYNC_FIELDS,
  opportunityFromRow,
  opportunityRecordSchema,
  type OpportunityRecord,
} from './opportunity.js';
