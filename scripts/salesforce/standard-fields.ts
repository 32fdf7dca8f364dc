// Standard fields the package may reference, per object: names not in force-app must be listed here.
// A short allowlist rather than a full describe, so a typo in a standard name still fails the check.

const SYSTEM_FIELDS = [
  'Id',
  'Name',
  'CreatedDate',
  'CreatedById',
  // The relationship name reports and report types use for the creator.
  'CreatedBy',
  'LastModifiedDate',
  'LastModifiedById',
  'SystemModstamp',
  'OwnerId',
  'Owner',
];

export const STANDARD_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Lead: [
    ...SYSTEM_FIELDS,
    'FirstName',
    'LastName',
    'Company',
    'Title',
    'Email',
    'Phone',
    'LeadSource',
    'Industry',
    'NumberOfEmployees',
    'AnnualRevenue',
    'Country',
    'Status',
    'Rating',
    'HasOptedOutOfEmail',
    'DoNotCall',
    'IsConverted',
    'ConvertedDate',
    'LastActivityDate',
  ],
  Task: [...SYSTEM_FIELDS, 'WhoId', 'WhatId', 'Subject', 'Status', 'Description', 'ActivityDate'],
  User: [...SYSTEM_FIELDS, 'TimeZoneSidKey'],
  Account: [...SYSTEM_FIELDS, 'Industry', 'NumberOfEmployees', 'AnnualRevenue'],
  Contact: [...SYSTEM_FIELDS, 'LastName', 'AccountId'],
  Opportunity: [...SYSTEM_FIELDS, 'AccountId', 'StageName'],
};

/** Fields every custom object has. */
export const CUSTOM_OBJECT_STANDARD_FIELDS: readonly string[] = SYSTEM_FIELDS;

/** Computed at scoring time from dates; see scoring-sidecar/src/model/rules/lead-values.ts. */
export { PSEUDO_FIELDS } from '../../scoring-sidecar/src/model/rules/lead-values.js';
