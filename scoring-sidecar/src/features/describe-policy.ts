// What may be a model input, read from an sObject describe (the org's own metadata): PII by type and by name,
// Shield-encrypted fields, and data classification (SecurityClassification / ComplianceGroup). Used by the
// spec loader (a selected field is refused, naming why) and by `features propose` (the reason it left it out).

/** The describe attributes this reads (REST `sobjects/<o>/describe` → `fields[]`). */
export interface DescribeField {
  name: string;
  label?: string;
  type: string;
  length?: number;
  custom?: boolean;
  createable?: boolean;
  externalId?: boolean;
  encrypted?: boolean;
  picklistValues?: { value: string; active: boolean }[];
  securityClassification?: string | null;
  complianceGroup?: string | null;
  relationshipName?: string | null;
  referenceTo?: string[];
}

/** Standard fields that name or locate a person. */
const PII_NAMES = new Set([
  'Name',
  'FirstName',
  'LastName',
  'MiddleName',
  'Suffix',
  'Salutation',
  'Email',
  'Phone',
  'MobilePhone',
  'Fax',
  'Street',
  'City',
  'PostalCode',
  'State',
  'Latitude',
  'Longitude',
  'Address',
  'Website',
  'Company',
  'Title',
  'Description',
  'PhotoUrl',
]);
const PII_TYPES = new Set(['email', 'phone', 'address', 'textarea', 'encryptedstring', 'url', 'location']);
const CLASSIFIED = new Set(['Confidential', 'Restricted', 'MissionCritical']);

/** Why a field must not be a raw model input, or null when it may be. */
export function exclusionReason(f: DescribeField): string | null {
  if (f.encrypted === true || f.type === 'encryptedstring')
    return `${f.name} is Shield-encrypted (describe: encrypted)`;
  if (f.securityClassification && CLASSIFIED.has(f.securityClassification))
    return `${f.name} is classified ${f.securityClassification} (SecurityClassification)`;
  if (f.complianceGroup && /\b(PII|GDPR|CCPA|HIPAA|PCI)\b/i.test(f.complianceGroup))
    return `${f.name} is in compliance group ${f.complianceGroup}`;
  if (PII_TYPES.has(f.type)) return `${f.name} is PII or free text (type ${f.type})`;
  if (PII_NAMES.has(f.name)) return `${f.name} names, contacts or locates a person (PII)`;
  return null;
}

/** Salesforce field types a transform can read. */
export const TYPES_FOR: Record<string, readonly string[]> = {
  numeric: ['double', 'currency', 'percent', 'int', 'long'],
  boolean: ['boolean'],
  categorical: ['picklist', 'string', 'combobox', 'multipicklist'],
  picklist: ['picklist'],
  'days-since': ['date', 'datetime'],
  ratio: ['double', 'currency', 'percent', 'int', 'long'],
  present: ['reference', 'string', 'date', 'datetime', 'id', 'picklist', 'email', 'phone'],
  'title-seniority': ['string'],
  'free-mail': ['email', 'string'],
};
