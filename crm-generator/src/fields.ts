// The only field names each output file may carry (the org simulator loads them as-is).

export const USER_FIELDS = [
  'Id',
  'Username',
  'FirstName',
  'LastName',
  'Email',
  'IsActive',
  'TimeZoneSidKey',
  'Territory__c',
  'Data_Region__c',
] as const;

export const ACCOUNT_FIELDS = [
  'Id',
  'Name',
  'Industry',
  'NumberOfEmployees',
  'AnnualRevenue',
  'BillingCountry',
  'Website',
  'Type',
  'OwnerId',
  'Territory__c',
  'Data_Region__c',
  'ERP_Account_Number__c',
] as const;

export const LEAD_FIELDS = [
  'Id',
  'FirstName',
  'LastName',
  'Company',
  'Title',
  'Email',
  'Phone',
  'Street',
  'City',
  'State',
  'PostalCode',
  'Country',
  'Website',
  'Industry',
  'NumberOfEmployees',
  'AnnualRevenue',
  'LeadSource',
  'Status',
  'OwnerId',
  'IsConverted',
  'ConvertedDate',
  'ConvertedAccountId',
  'ConvertedOpportunityId',
  'HasOptedOutOfEmail',
  'DoNotCall',
  'CreatedDate',
  'Territory__c',
  'Data_Region__c',
  'Matched_Account__c',
  'Lead_Origin__c',
] as const;

export const OPPORTUNITY_FIELDS = [
  'Id',
  'Name',
  'AccountId',
  'StageName',
  'Amount',
  'CloseDate',
  'IsClosed',
  'IsWon',
  'LeadSource',
  'Type',
  'OwnerId',
  'CreatedDate',
  'Data_Region__c',
] as const;

export const TASK_FIELDS = [
  'Id',
  'Subject',
  'Status',
  'Priority',
  'ActivityDate',
  'WhoId',
  'OwnerId',
  'TaskSubtype',
  'Type',
  'CallDurationInSeconds',
  'CompletedDateTime',
  'CreatedDate',
] as const;

/** Field history of Lead.Status: tells point-in-time training sets when a lead was contacted and closed. */
export const LEAD_HISTORY_FIELDS = [
  'Id',
  'LeadId',
  'Field',
  'DataType',
  'OldValue',
  'NewValue',
  'CreatedDate',
] as const;

export const EVENT_FIELDS = [
  'eventId',
  'leadId',
  'type',
  'occurredAt',
  'region',
  'source',
  'properties',
] as const;
