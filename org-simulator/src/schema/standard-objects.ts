// Stands in for Salesforce's standard object catalogue (Lead, Contact, Task, User, LeadHistory, ...).
import { auditFields, field, idField, isDeletedField, ownerField } from './field-builder.js';
import type { FieldDescribe } from './types.js';

export interface StandardObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  deletable: boolean;
  fields: FieldDescribe[];
}

const INDUSTRIES = [
  'Agriculture', 'Apparel', 'Banking', 'Biotechnology', 'Chemicals', 'Communications', 'Construction',
  'Consulting', 'Education', 'Electronics', 'Energy', 'Engineering', 'Entertainment', 'Environmental',
  'Finance', 'Food & Beverage', 'Government', 'Healthcare', 'Hospitality', 'Insurance', 'Machinery',
  'Manufacturing', 'Media', 'Not For Profit', 'Other', 'Recreation', 'Retail', 'Shipping', 'Technology',
  'Telecommunications', 'Transportation', 'Utilities',
]; // prettier-ignore
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];
const OPPORTUNITY_STAGES = [
  'Prospecting', 'Qualification', 'Needs Analysis', 'Value Proposition', 'Id. Decision Makers',
  'Perception Analysis', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost',
]; // prettier-ignore

const ro = { readonly: true } as const;

function nameCalculated(formula: string, length: number): FieldDescribe {
  return field('Name', 'string', {
    label: 'Full Name',
    length,
    readonly: true,
    calculated: false,
    nameField: true,
    nillable: false,
    defaultedOnCreate: true,
    calculatedFormula: formula,
  });
}

const lead: StandardObjectDef = {
  name: 'Lead',
  label: 'Lead',
  labelPlural: 'Leads',
  keyPrefix: '00Q',
  deletable: true,
  fields: [
    idField(),
    isDeletedField(),
    // Set on the records a merge deletes: the surviving (master) record's Id (queryAll shows them).
    field('MasterRecordId', 'reference', {
      label: 'Master Record ID',
      referenceTo: ['Lead'],
      relationshipName: 'MasterRecord',
      ...ro,
    }),
    field('LastName', 'string', { label: 'Last Name', length: 80, required: true }),
    field('FirstName', 'string', { label: 'First Name', length: 40 }),
    nameCalculated('FirstName + " " + LastName', 121),
    field('Title', 'string', { length: 128 }),
    field('Company', 'string', { length: 255, required: true }),
    field('Street', 'textarea', { length: 255, filterable: true, sortable: true }),
    field('City', 'string', { length: 40 }),
    field('State', 'string', { label: 'State/Province', length: 80 }),
    field('PostalCode', 'string', { label: 'Zip/Postal Code', length: 20 }),
    field('Country', 'string', { length: 80 }),
    field('Phone', 'phone', { label: 'Business Phone' }),
    field('MobilePhone', 'phone', { label: 'Mobile Phone' }),
    field('Email', 'email', { idLookup: true }),
    field('Website', 'url'),
    field('Description', 'textarea'),
    field('LeadSource', 'picklist', { label: 'Lead Source', length: 255, picklist: LEAD_SOURCES }),
    field('Status', 'picklist', {
      label: 'Lead Status',
      length: 255,
      nillable: false,
      picklist: [
        'Open - Not Contacted',
        'Working - Contacted',
        'Closed - Converted',
        'Closed - Not Converted',
      ],
      picklistDefault: 'Open - Not Contacted',
    }),
    field('Industry', 'picklist', { picklist: INDUSTRIES }),
    field('Rating', 'picklist', { picklist: ['Hot', 'Warm', 'Cold'] }),
    field('AnnualRevenue', 'currency', { label: 'Annual Revenue', precision: 18, scale: 0 }),
    field('NumberOfEmployees', 'int', { label: 'Employees', digits: 8 }),
    ownerField(),
    field('HasOptedOutOfEmail', 'boolean', { label: 'Email Opt Out' }),
    field('IsConverted', 'boolean', { label: 'Converted', updateable: false }),
    field('ConvertedDate', 'date', { label: 'Converted Date', ...ro }),
    field('ConvertedAccountId', 'reference', {
      label: 'Converted Account ID',
      referenceTo: ['Account'],
      relationshipName: 'ConvertedAccount',
      ...ro,
    }),
    field('ConvertedContactId', 'reference', {
      label: 'Converted Contact ID',
      referenceTo: ['Contact'],
      relationshipName: 'ConvertedContact',
      ...ro,
    }),
    field('ConvertedOpportunityId', 'reference', {
      label: 'Converted Opportunity ID',
      referenceTo: ['Opportunity'],
      relationshipName: 'ConvertedOpportunity',
      ...ro,
    }),
    field('IsUnreadByOwner', 'boolean', { label: 'Unread By Owner' }),
    field('DoNotCall', 'boolean', { label: 'Do Not Call' }),
    // The data privacy record of the person (Individual): its ShouldForget asks for erasure.
    field('IndividualId', 'reference', {
      label: 'Individual ID',
      referenceTo: ['Individual'],
      relationshipName: 'Individual',
    }),
    ...auditFields(),
    field('LastActivityDate', 'date', { label: 'Last Activity', ...ro }),
  ],
};

// Data privacy preferences of a person (Salesforce's Individual, key prefix 0PK), linked from Lead.IndividualId.
// ShouldForget ("Forget this Individual and their data") is what the sync turns into an erasure request.
const individual: StandardObjectDef = {
  name: 'Individual',
  label: 'Individual',
  labelPlural: 'Individuals',
  keyPrefix: '0PK',
  deletable: true,
  fields: [
    idField(),
    isDeletedField(),
    field('LastName', 'string', { label: 'Last Name', length: 80, required: true }),
    field('FirstName', 'string', { label: 'First Name', length: 40 }),
    field('ShouldForget', 'boolean', { label: 'Forget this Individual and their data' }),
    field('HasOptedOutProcessing', 'boolean', { label: "Don't Process" }),
    field('HasOptedOutTracking', 'boolean', { label: "Don't Track" }),
    ...auditFields(),
  ],
};

const account: StandardObjectDef = {
  name: 'Account',
  label: 'Account',
  labelPlural: 'Accounts',
  keyPrefix: '001',
  deletable: true,
  fields: [
    idField(),
    isDeletedField(),
    field('Name', 'string', { label: 'Account Name', nameField: true, required: true }),
    field('Type', 'picklist', {
      label: 'Account Type',
      picklist: [
        'Prospect',
        'Customer - Direct',
        'Customer - Channel',
        'Channel Partner / Reseller',
        'Other',
      ],
    }),
    field('ParentId', 'reference', {
      label: 'Parent Account ID',
      referenceTo: ['Account'],
      relationshipName: 'Parent',
    }),
    field('BillingStreet', 'textarea', { label: 'Billing Street', length: 255, filterable: true }),
    field('BillingCity', 'string', { label: 'Billing City', length: 40 }),
    field('BillingState', 'string', { label: 'Billing State/Province', length: 80 }),
    field('BillingPostalCode', 'string', { label: 'Billing Zip/Postal Code', length: 20 }),
    field('BillingCountry', 'string', { label: 'Billing Country', length: 80 }),
    field('Phone', 'phone', { label: 'Account Phone' }),
    field('Website', 'url'),
    field('Industry', 'picklist', { picklist: INDUSTRIES }),
    field('AnnualRevenue', 'currency', { label: 'Annual Revenue', precision: 18, scale: 0 }),
    field('NumberOfEmployees', 'int', { label: 'Employees', digits: 8 }),
    field('Description', 'textarea', { label: 'Account Description' }),
    field('AccountSource', 'picklist', { label: 'Account Source', picklist: LEAD_SOURCES }),
    ownerField(['User']),
    ...auditFields(),
    field('LastActivityDate', 'date', { label: 'Last Activity', ...ro }),
  ],
};

const user: StandardObjectDef = {
  name: 'User',
  label: 'User',
  labelPlural: 'Users',
  keyPrefix: '005',
  deletable: false,
  fields: [
    idField(),
    field('Username', 'string', { length: 80, required: true, unique: true, idLookup: true }),
    field('LastName', 'string', { label: 'Last Name', length: 80, required: true }),
    field('FirstName', 'string', { label: 'First Name', length: 40 }),
    nameCalculated('FirstName + " " + LastName', 121),
    field('CompanyName', 'string', { label: 'Company Name', length: 80 }),
    field('Department', 'string', { length: 80 }),
    field('Title', 'string', { length: 80 }),
    field('Country', 'string', { length: 80 }),
    field('Email', 'email', { length: 128, required: true }),
    field('Phone', 'phone'),
    field('Alias', 'string', { length: 8, nillable: false, defaultedOnCreate: true }),
    field('IsActive', 'boolean', { label: 'Active', defaultValue: true }),
    field('TimeZoneSidKey', 'picklist', {
      label: 'Time Zone',
      length: 40,
      nillable: false,
      picklist: [
        'America/Los_Angeles',
        'America/Chicago',
        'America/New_York',
        'Europe/London',
        'Europe/Paris',
        'Europe/Berlin',
      ],
      picklistDefault: 'America/Los_Angeles',
    }),
    field('LocaleSidKey', 'picklist', {
      label: 'Locale',
      length: 40,
      nillable: false,
      picklistDefault: 'en_US',
      picklist: ['en_US', 'en_GB', 'fr_FR', 'de_DE'],
    }),
    field('EmailEncodingKey', 'picklist', {
      label: 'Email Encoding',
      length: 40,
      nillable: false,
      picklistDefault: 'UTF-8',
      picklist: ['UTF-8', 'ISO-8859-1'],
    }),
    field('LanguageLocaleKey', 'picklist', {
      label: 'Language',
      length: 40,
      nillable: false,
      picklistDefault: 'en_US',
      picklist: ['en_US', 'fr', 'de'],
    }),
    field('UserRoleId', 'reference', {
      label: 'Role ID',
      referenceTo: ['UserRole'],
      relationshipName: 'UserRole',
    }),
    field('ProfileId', 'reference', {
      label: 'Profile ID',
      referenceTo: ['Profile'],
      relationshipName: 'Profile',
    }),
    field('ManagerId', 'reference', {
      label: 'Manager ID',
      referenceTo: ['User'],
      relationshipName: 'Manager',
    }),
    ...auditFields(),
  ],
};

const opportunity: StandardObjectDef = {
  name: 'Opportunity',
  label: 'Opportunity',
  labelPlural: 'Opportunities',
  keyPrefix: '006',
  deletable: true,
  fields: [
    idField(),
    isDeletedField(),
    field('AccountId', 'reference', {
      label: 'Account ID',
      referenceTo: ['Account'],
      relationshipName: 'Account',
    }),
    field('Name', 'string', { label: 'Name', length: 120, nameField: true, required: true }),
    field('Description', 'textarea'),
    field('StageName', 'picklist', {
      label: 'Stage',
      length: 255,
      required: true,
      picklist: OPPORTUNITY_STAGES,
    }),
    field('Amount', 'currency', { precision: 18, scale: 2 }),
    field('Probability', 'percent', {
      label: 'Probability (%)',
      precision: 3,
      scale: 0,
      defaultedOnCreate: true,
    }),
    field('CloseDate', 'date', { label: 'Close Date', required: true }),
    field('Type', 'picklist', {
      label: 'Opportunity Type',
      picklist: [
        'Existing Customer - Upgrade',
        'Existing Customer - Replacement',
        'Existing Customer - Downgrade',
        'New Customer',
      ],
    }),
    field('NextStep', 'string', { label: 'Next Step', length: 255 }),
    field('LeadSource', 'picklist', { label: 'Lead Source', picklist: LEAD_SOURCES }),
    field('IsClosed', 'boolean', { label: 'Closed', ...ro }),
    field('IsWon', 'boolean', { label: 'Won', ...ro }),
    field('ForecastCategory', 'picklist', {
      label: 'Forecast Category',
      length: 40,
      nillable: false,
      ...ro,
      picklist: ['Omitted', 'Pipeline', 'BestCase', 'Forecast', 'Closed'],
    }),
    ownerField(['User']),
    ...auditFields(),
    field('LastActivityDate', 'date', { label: 'Last Activity', ...ro }),
  ],
};

const task: StandardObjectDef = {
  name: 'Task',
  label: 'Task',
  labelPlural: 'Tasks',
  keyPrefix: '00T',
  deletable: true,
  fields: [
    idField(),
    field('WhoId', 'reference', {
      label: 'Name ID',
      referenceTo: ['Contact', 'Lead'],
      relationshipName: 'Who',
    }),
    field('WhatId', 'reference', {
      label: 'Related To ID',
      referenceTo: ['Account', 'Opportunity'],
      relationshipName: 'What',
    }),
    field('Subject', 'string', { length: 255 }),
    field('ActivityDate', 'date', { label: 'Due Date Only' }),
    field('Status', 'picklist', {
      length: 40,
      nillable: false,
      picklist: ['Not Started', 'In Progress', 'Completed', 'Waiting on someone else', 'Deferred'],
      picklistDefault: 'Not Started',
    }),
    field('Priority', 'picklist', {
      length: 40,
      nillable: false,
      picklist: ['High', 'Normal', 'Low'],
      picklistDefault: 'Normal',
    }),
    field('IsHighPriority', 'boolean', { label: 'High Priority', ...ro }),
    ownerField(['Group', 'User']),
    field('Description', 'textarea', { label: 'Description' }),
    field('Type', 'picklist', { length: 40, picklist: ['Call', 'Email', 'Meeting', 'Other'] }),
    isDeletedField(),
    ...auditFields(),
    field('IsClosed', 'boolean', { label: 'Closed', ...ro }),
    field('CallDurationInSeconds', 'int', { label: 'Call Duration', digits: 8 }),
    field('CallType', 'picklist', {
      label: 'Call Type',
      length: 40,
      picklist: ['Internal', 'Inbound', 'Outbound'],
    }),
    field('CallDisposition', 'string', { label: 'Call Result', length: 255 }),
    field('TaskSubtype', 'picklist', {
      label: 'Task Subtype',
      length: 40,
      updateable: false,
      picklist: ['Task', 'Email', 'ListEmail', 'Cadence', 'Call', 'LinkedIn'],
    }),
    field('CompletedDateTime', 'datetime', { label: 'Completed Date/Time', ...ro }),
  ],
};

// Field history of tracked Lead fields (Status, Owner): what point-in-time training sets read to know when a
// lead closed. Real orgs write these rows themselves; here they are seeded. The simulator adds the usual
// system fields, which the real object lacks (it has CreatedDate and CreatedById only).
const leadHistory: StandardObjectDef = {
  name: 'LeadHistory',
  label: 'Lead History',
  labelPlural: 'Lead History',
  keyPrefix: '017',
  deletable: false,
  fields: [
    idField(),
    isDeletedField(),
    field('LeadId', 'reference', {
      label: 'Lead ID',
      referenceTo: ['Lead'],
      relationshipName: 'Lead',
      ...ro,
    }),
    field('Field', 'picklist', {
      label: 'Changed Field',
      length: 255,
      picklist: ['Status', 'Owner', 'created', 'leadConverted', 'leadMerged'],
      ...ro,
    }),
    field('DataType', 'string', { label: 'Data Type', length: 40, ...ro }),
    field('OldValue', 'string', { label: 'Old Value', length: 255, ...ro }),
    field('NewValue', 'string', { label: 'New Value', length: 255, ...ro }),
    ...auditFields(),
  ],
};

export const STANDARD_OBJECTS: readonly StandardObjectDef[] = [
  lead,
  account,
  user,
  opportunity,
  task,
  leadHistory,
  individual,
];

/** Fields whose value the store derives on every write. */
export const CALCULATED_NAME_OBJECTS = new Set(['Lead', 'User']);
