// The Lead fields features may read, and how sensitive each is. PII and free text are never model inputs
// as they are; a feature may only derive a declared, non-identifying value from them.
import { z } from 'zod';

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

/** A lead as features see it: the fields above, as they stood at the scoring instant. */
export const leadProfileSchema = z.object({
  Id: z.string().regex(/^00Q[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'a Salesforce Lead Id (00Q...)'),
  CreatedDate: z.string().refine((v) => Number.isFinite(Date.parse(v.replace(/\+0000$/, 'Z'))), 'a datetime'),
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
  Title: text,
  Company: text,
  Email: text,
  Phone: text,
  FirstName: text,
  LastName: text,
  Street: text,
  /**
   * The active spec's fields beyond the ones above (custom `__c` fields of the client's org), as the org
   * returns them (Bulk CSV strings; null = empty). Filled from the spec's field list by sync, the batch
   * extract and the training-set builder; the interpreter reads a field here when the profile has no such key.
   */
  custom: z.record(z.string(), z.string().nullable()).optional(),
});

export type LeadProfile = z.output<typeof leadProfileSchema>;

/** Salesforce datetimes ('2026-01-31T09:15:00.000+0000') and ISO strings to epoch ms. */
export function parseSalesforceDateTime(value: string): number {
  return Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

/** The Lead fields features read: what an extract or a sync selects (PII is cut before anything is stored). */
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
  'Title',
  'Email',
] as const;

/**
 * A Bulk API CSV row (strings, empty = null) as a lead profile; only the fields features may read are kept:
 * the fixed ones above and `customFields` (the active spec's, see features/servability.ts) in `custom`.
 */
export function leadProfileFromRow(
  row: Readonly<Record<string, string | null | undefined>>,
  customFields: readonly string[] = [],
): LeadProfile {
  const num = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  const custom = customFields.length
    ? { custom: Object.fromEntries(customFields.map((f) => [f, row[f] === '' ? null : (row[f] ?? null)])) }
    : {};
  return leadProfileSchema.parse({
    ...custom,
    ...Object.fromEntries(LEAD_PROFILE_FIELDS.map((f) => [f, row[f] ?? null])),
    NumberOfEmployees: num(row.NumberOfEmployees),
    AnnualRevenue: num(row.AnnualRevenue),
    HasOptedOutOfEmail: row.HasOptedOutOfEmail === 'true',
    DoNotCall: row.DoNotCall === 'true',
  });
}
