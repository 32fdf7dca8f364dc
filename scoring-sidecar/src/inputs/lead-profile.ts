// The Lead fields features may read, and how sensitive each is. PII and free text are never model inputs
// as they are; a feature may only derive a declared, non-identifying value from them.
import { z } from 'zod';
import { emailIsFreeMail } from './free-mail.js';

export type Sensitivity = 'none' | 'pii' | 'free-text';

export const LEAD_FIELD_SENSITIVITY = {
  Id: 'none',
  CreatedDate: 'none',
  LeadSource: 'none',
  Industry: 'none',
  NumberOfEmployees: 'none',
  AnnualRevenue: 'none',
  Country: 'none',
  Lead_Origin__c: 'none',
  HasOptedOutOfEmail: 'none',
  DoNotCall: 'none',
  Data_Region__c: 'none',
  Matched_Account__c: 'none',
  Status: 'none',
  Rating: 'none',
  LastActivityDate: 'none',
  Web_Visits__c: 'none',
  Web_Time_On_Site__c: 'none',
  Web_Pages_Per_Visit__c: 'none',
  Title: 'free-text',
  Company: 'free-text',
  Email: 'pii',
  Phone: 'pii',
  FirstName: 'pii',
  LastName: 'pii',
  Street: 'pii',
} as const satisfies Record<string, Sensitivity>;

export type LeadField = keyof typeof LEAD_FIELD_SENSITIVITY;

const text = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const num = z
  .number()
  .nullish()
  .transform((v) => v ?? null);

/**
 * A lead as features and rules see it: the fields above, as they stood at the scoring instant, and
 * `EmailIsFreeMail`, derived from Email whenever Email is given (a stored profile keeps only the flag, never the
 * address or its domain: inputs/profile-minimization.ts).
 */
export const leadProfileSchema = z
  .object({
    Id: z.string().regex(/^00Q[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'a Salesforce Lead Id (00Q...)'),
    CreatedDate: z
      .string()
      .refine((v) => Number.isFinite(Date.parse(v.replace(/\+0000$/, 'Z'))), 'a datetime'),
    LeadSource: text,
    Industry: text,
    NumberOfEmployees: num,
    AnnualRevenue: num,
    Country: text,
    Lead_Origin__c: text,
    HasOptedOutOfEmail: z
      .boolean()
      .nullish()
      .transform((v) => v ?? false),
    DoNotCall: z
      .boolean()
      .nullish()
      .transform((v) => v ?? false),
    Data_Region__c: z.enum(['US', 'EU']),
    Matched_Account__c: text,
    Status: text,
    Rating: text,
    // A date ('2026-01-31'); the rules' DaysSinceLastTouch reads it.
    LastActivityDate: text,
    Web_Visits__c: num,
    Web_Time_On_Site__c: num,
    Web_Pages_Per_Visit__c: num,
    Title: text,
    Company: text,
    Email: text,
    Phone: text,
    FirstName: text,
    LastName: text,
    Street: text,
    EmailIsFreeMail: z
      .boolean()
      .nullish()
      .transform((v) => v ?? null),
    /**
     * The active spec's fields beyond the ones above (custom `__c` fields of the client's org), as the org
     * returns them (Bulk CSV strings; null = empty). Filled from the spec's field list by sync, the batch
     * extract and the training-set builder; the interpreter reads a field here when the profile has no such key.
     */
    custom: z.record(z.string(), z.string().nullable()).optional(),
  })
  .transform((lead) => ({
    ...lead,
    EmailIsFreeMail: lead.Email !== null ? emailIsFreeMail(lead.Email) : lead.EmailIsFreeMail,
  }));

export type LeadProfile = z.output<typeof leadProfileSchema>;

/** Applies one field's change (field history) to a profile, keeping the free-mail flag in step with Email. */
export function applyLeadFieldChange(lead: LeadProfile, field: string, value: unknown): void {
  (lead as Record<string, unknown>)[field] = value;
  if (field === 'Email') lead.EmailIsFreeMail = emailIsFreeMail(typeof value === 'string' ? value : null);
}

/** Salesforce datetimes ('2026-01-31T09:15:00.000+0000') and ISO strings to epoch ms. */
export function parseSalesforceDateTime(value: string): number {
  return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

/**
 * The Lead fields features and rules read: what an extract, a sync and the Apex payload select (PII is cut before
 * anything is stored). The one list: the store's codec and the batch extract derive theirs from it.
 */
export const LEAD_PROFILE_FIELDS = [
  'Id',
  'CreatedDate',
  'LeadSource',
  'Industry',
  'NumberOfEmployees',
  'AnnualRevenue',
  'Country',
  'Lead_Origin__c',
  'HasOptedOutOfEmail',
  'DoNotCall',
  'Data_Region__c',
  'Matched_Account__c',
  'Status',
  'Rating',
  'LastActivityDate',
  'Web_Visits__c',
  'Web_Time_On_Site__c',
  'Web_Pages_Per_Visit__c',
  'Title',
  'Email',
] as const satisfies readonly LeadField[];

const NUMBER_FIELDS = new Set<string>([
  'NumberOfEmployees',
  'AnnualRevenue',
  'Web_Visits__c',
  'Web_Time_On_Site__c',
  'Web_Pages_Per_Visit__c',
]);
const BOOLEAN_FIELDS = new Set<string>(['HasOptedOutOfEmail', 'DoNotCall', 'EmailIsFreeMail']);

/**
 * A Bulk API CSV row (strings, empty = null) as a lead profile; only the fields features and rules may read are
 * kept: the fixed ones above and `customFields` (the active spec's, see features/servability.ts) in `custom`.
 * A minimized row (no Email) brings its `EmailIsFreeMail` flag instead.
 */
export function leadProfileFromRow(
  row: Readonly<Record<string, string | null | undefined>>,
  customFields: readonly string[] = [],
): LeadProfile {
  const value = (f: string) => {
    const v = row[f];
    if (v === null || v === undefined) return null;
    if (NUMBER_FIELDS.has(f)) return Number(v);
    if (BOOLEAN_FIELDS.has(f)) return v === 'true';
    return v;
  };
  const custom = customFields.length
    ? { custom: Object.fromEntries(customFields.map((f) => [f, row[f] === '' ? null : (row[f] ?? null)])) }
    : {};
  return leadProfileSchema.parse({
    ...custom,
    ...Object.fromEntries([...LEAD_PROFILE_FIELDS, 'EmailIsFreeMail'].map((f) => [f, value(f)])),
  });
}
