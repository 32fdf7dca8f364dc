// `features propose`: a first spec for a client's org, from its describe (types, picklists, encryption, data
// classification) and a sample of values. Every field gets a decision with a reason: chosen (how it is read)
// or excluded (PII, classified, encrypted, Leadrank's own output, the outcome itself, empty, constant, free
// text). PII is decided from metadata alone: excluded fields are never sampled.
import { EVENT_TYPES } from '../inputs/index.js';
import { exclusionReason, type DescribeField } from './describe-policy.js';
import type { FeatureConfig, SpecFeature } from './spec-schema.js';

/** Fields that are bookkeeping, the outcome (conversion: the label, known only later) or Leadrank's output. */
const NOT_INPUTS: [RegExp, string][] = [
  [
    /^(Id|IsDeleted|MasterRecordId|OwnerId|CreatedById|LastModifiedById|LastModifiedDate|SystemModstamp|LastActivityDate|LastViewedDate|LastReferencedDate|Jigsaw|JigsawContactId|CleanStatus|PhotoUrl|EmailBouncedReason|EmailBouncedDate|IndividualId)$/,
    'record bookkeeping, not about the buyer',
  ],
  [
    /^(IsConverted|ConvertedDate|ConvertedAccountId|ConvertedContactId|ConvertedOpportunityId|Status|IsUnreadByOwner|Converted_Count__c)$/,
    'the outcome or set with it (would leak the label)',
  ],
  [
    /^(Lead_Score__c|Score_.*__c|Scored_At__c|Next_Best_Action__c|Score_Model_Version__c)$/,
    "Leadrank's own output (a feedback loop)",
  ],
  [/^(Data_Region__c|Source_Record_Id__c|External_Key__c)$/, 'routing or an identifier, not a signal'],
];

export interface FieldDecision {
  field: string;
  chosen: boolean;
  reason: string;
}

export interface Proposal {
  config: FeatureConfig;
  decisions: FieldDecision[];
  /** Fields worth sampling (everything not excluded from metadata alone). */
  sampled: string[];
}

const snake = (name: string) =>
  name
    .replace(/__c$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase()
    .replace(/^_+|_+$/g, '');

/** The fields to sample: those metadata alone does not exclude. */
export function fieldsToSample(describe: readonly DescribeField[]): string[] {
  return describe.filter((f) => metadataExclusion(f) === null).map((f) => f.name);
}

function metadataExclusion(f: DescribeField): string | null {
  for (const [pattern, why] of NOT_INPUTS) if (pattern.test(f.name)) return `${f.name}: ${why}`;
  if (f.type === 'id' || f.type === 'base64') return `${f.name}: type ${f.type} is not a signal`;
  return exclusionReason(f);
}

/** A spec from describe + sample rows (objects keyed by field name, values as the REST API returns them). */
export function proposeSpec(
  target: 'lead',
  describe: readonly DescribeField[],
  sample: readonly Record<string, unknown>[],
): Proposal {
  const decisions: FieldDecision[] = [];
  const features: SpecFeature[] = [];
  const sampled = fieldsToSample(describe);
  for (const f of describe) {
    const excluded = metadataExclusion(f);
    const values = sample.map((r) => r[f.name]).filter((v) => v !== null && v !== undefined && v !== '');
    const distinct = new Set(values.map(String));
    const choose = (feature: Omit<SpecFeature, 'name' | 'source'> & { name?: string }) => {
      const name = feature.name ?? snake(f.name);
      features.push({ ...feature, name, source: { field: f.name, type: f.type } });
      decisions.push({ field: f.name, chosen: true, reason: feature.reason ?? '' });
    };
    const exclude = (reason: string) => decisions.push({ field: f.name, chosen: false, reason });
    // Non-identifying derivations of two PII/free-text fields, the only ones a proposal makes.
    if (f.name === 'Email' && !f.encrypted && f.securityClassification !== 'Restricted') {
      choose({
        name: 'email_is_free_mail',
        description: 'email at a consumer mailbox provider',
        transform: { kind: 'free-mail' },
        reason: 'Email is PII: only whether its domain is a consumer mailbox is derived',
      });
      continue;
    }
    if (f.name === 'Title' && !f.encrypted && f.securityClassification !== 'Restricted') {
      choose({
        name: 'title_seniority',
        description: 'seniority of the job title',
        transform: { kind: 'title-seniority' },
        reason: 'Title is free text: only a seniority bucket is derived',
      });
      continue;
    }
    if (excluded) {
      exclude(excluded);
      continue;
    }
    if (sample.length > 0 && values.length === 0) {
      exclude(`${f.name}: empty in all ${sample.length} sampled records`);
      continue;
    }
    if (sample.length > 0 && distinct.size === 1 && f.type !== 'boolean') {
      exclude(`${f.name}: one value in all ${values.length} sampled records`);
      continue;
    }
    const filled = `${values.length}/${sample.length} sampled records filled`;
    switch (f.type) {
      case 'boolean':
        if (distinct.size < 2) exclude(`${f.name}: the same value in every sampled record`);
        else
          choose({
            description: f.label ?? f.name,
            transform: { kind: 'boolean' },
            reason: `checkbox; ${filled}`,
          });
        break;
      case 'double':
      case 'currency':
      case 'percent':
      case 'int':
      case 'long': {
        const nums = values
          .map(Number)
          .filter(Number.isFinite)
          .sort((a, b) => a - b);
        const median = nums[Math.floor(nums.length / 2)] ?? 0;
        const skewed = nums.length > 0 && nums[0]! >= 0 && nums[nums.length - 1]! > 100 * Math.max(median, 1);
        choose({
          description: f.label ?? f.name,
          transform: skewed ? { kind: 'numeric', log: true } : { kind: 'numeric' },
          reason: `${f.type}; ${filled}${skewed ? '; long right tail (max > 100 × median): log' : ''}`,
        });
        break;
      }
      case 'picklist': {
        const active = (f.picklistValues ?? []).filter((p) => p.active).map((p) => p.value);
        choose({
          description: f.label ?? f.name,
          transform: active.length
            ? { kind: 'picklist', values: active }
            : { kind: 'categorical', caseFold: true, topK: 20, other: true },
          reason: `picklist of ${active.length} active values; ${filled}`,
        });
        break;
      }
      case 'string':
      case 'combobox':
        if (distinct.size > 50 || distinct.size > 0.5 * values.length)
          exclude(
            `${f.name}: free text or an identifier (${distinct.size} distinct values in ${values.length})`,
          );
        else
          choose({
            description: f.label ?? f.name,
            transform: { kind: 'categorical', caseFold: true, topK: 20, other: true },
            reason: `text with ${distinct.size} distinct values in ${values.length}: categorical, case-folded, top 20 + other`,
          });
        break;
      case 'date':
      case 'datetime':
        choose({
          ...(f.name === 'CreatedDate' ? { name: 'lead_age_days' } : { name: `days_since_${snake(f.name)}` }),
          description:
            f.name === 'CreatedDate' ? 'days since the lead was created' : `days since ${f.label ?? f.name}`,
          transform: { kind: 'days-since' },
          reason: `${f.type}: age at the snapshot`,
        });
        break;
      case 'reference':
        choose({
          name: `has_${snake(f.name)}`,
          description: `${f.label ?? f.name} is set`,
          transform: { kind: 'present' },
          reason: 'lookup: whether it is set (the Id itself identifies a record)',
        });
        break;
      default:
        exclude(`${f.name}: type ${f.type} has no transform`);
    }
  }
  for (const type of EVENT_TYPES) {
    const label = type.replace(/_/g, ' ');
    for (const days of [7, 30])
      features.push({
        name: `${type}_${days}d`,
        description: `${label} events in the last ${days} days`,
        source: { events: type },
        transform: { kind: 'event-count', windowDays: days },
        missing: 0,
        reason: 'engagement events',
      });
    features.push({
      name: `${type}_total`,
      description: `${label} events since the lead was created`,
      source: { events: type },
      transform: { kind: 'event-total' },
      missing: 0,
      reason: 'engagement events',
    });
    features.push({
      name: `days_since_${type}`,
      description: `days since the last ${label} event`,
      source: { events: type },
      transform: { kind: 'event-recency' },
      reason: 'engagement events',
    });
  }
  return {
    config: {
      specVersion: 1,
      name: `${target}-proposed`,
      target,
      object: 'Lead',
      eventTypes: [...EVENT_TYPES],
      calendar: false,
      features,
      excluded: decisions.filter((d) => !d.chosen).map((d) => ({ field: d.field, reason: d.reason })),
    },
    decisions,
    sampled,
  };
}
