// What arrives about an opportunity: the Opportunity fields and its Account's, as a deal score reads them.
// Opportunity scoring (config/features/opportunity.json) reads no engagement events or extracts: a deal's
// record and its account are the inputs. PII and free text are listed so a spec cannot read them raw.
import { z } from 'zod';
import type { Sensitivity } from './lead-profile.js';

export const OPPORTUNITY_FIELD_SENSITIVITY = {
  Id: 'none',
  CreatedDate: 'none',
  StageName: 'none',
  Amount: 'none',
  Probability: 'none',
  CloseDate: 'none',
  Type: 'none',
  LeadSource: 'none',
  ForecastCategory: 'none',
  IsClosed: 'none',
  IsWon: 'none',
  LastActivityDate: 'none',
  AccountId: 'none',
  OwnerId: 'none',
  Data_Region__c: 'none',
  Name: 'free-text',
  Description: 'free-text',
  NextStep: 'free-text',
} as const satisfies Record<string, Sensitivity>;

export const OPPORTUNITY_ID_PATTERN = /^006[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/;

const text = z
  .string()
  .nullish()
  .transform((v) => v ?? null);
const num = z
  .number()
  .nullish()
  .transform((v) => v ?? null);
const dateTime = z
  .string()
  .refine((v) => Number.isFinite(Date.parse(v.replace(/\+0000$/, 'Z'))), 'a datetime');
const date = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date (YYYY-MM-DD)')
  .nullish()
  .transform((v) => v ?? null);

/**
 * An opportunity as the sidecar keeps and scores it: its own fields plus its Account's under `Account`
 * (as Salesforce's REST API nests a parent). Values as JSON (numbers, booleans), not CSV strings.
 */
export const opportunityRecordSchema = z.object({
  Id: z.string().regex(OPPORTUNITY_ID_PATTERN, 'a Salesforce Opportunity Id (006...)'),
  CreatedDate: dateTime,
  StageName: text,
  Amount: num,
  Probability: num,
  CloseDate: date,
  Type: text,
  LeadSource: text,
  IsClosed: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
  LastActivityDate: date,
  AccountId: text,
  Data_Region__c: z.enum(['US', 'EU']),
  Account: z
    .object({ Industry: text, NumberOfEmployees: num, AnnualRevenue: num })
    .nullish()
    .transform((v) => v ?? null),
});
export type OpportunityRecord = z.output<typeof opportunityRecordSchema>;

/** The fields read from the org (SOQL), parent fields dotted. */
export const OPPORTUNITY_SYNC_FIELDS = [
  'Id',
  'CreatedDate',
  'StageName',
  'Amount',
  'Probability',
  'CloseDate',
  'Type',
  'LeadSource',
  'IsClosed',
  'LastActivityDate',
  'AccountId',
  'Data_Region__c',
  'Account.Industry',
  'Account.NumberOfEmployees',
  'Account.AnnualRevenue',
] as const;

const numberOrNull = (v: string | null | undefined): number | null =>
  v === null || v === undefined || v === '' ? null : Number(v);
const textOrNull = (v: string | null | undefined): string | null =>
  v === null || v === undefined || v === '' ? null : v;

/** A row as the Bulk API or a flattened REST record gives it (strings, '' = null, parents dotted) → a record. */
export function opportunityFromRow(
  row: Readonly<Record<string, string | null | undefined>>,
): OpportunityRecord {
  const hasAccount = textOrNull(row.AccountId) !== null;
  return opportunityRecordSchema.parse({
    Id: row.Id,
    CreatedDate: row.CreatedDate,
    StageName: textOrNull(row.StageName),
    Amount: numberOrNull(row.Amount),
    Probability: numberOrNull(row.Probability),
    CloseDate: textOrNull(row.CloseDate),
    Type: textOrNull(row.Type),
    LeadSource: textOrNull(row.LeadSource),
    IsClosed: row.IsClosed === 'true',
    LastActivityDate: textOrNull(row.LastActivityDate),
    AccountId: textOrNull(row.AccountId),
    Data_Region__c: row.Data_Region__c,
    Account: hasAccount
      ? {
          Industry: textOrNull(row['Account.Industry']),
          NumberOfEmployees: numberOrNull(row['Account.NumberOfEmployees']),
          AnnualRevenue: numberOrNull(row['Account.AnnualRevenue']),
        }
      : null,
  });
}
