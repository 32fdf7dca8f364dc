// Stands in for the describe result shapes (DescribeSObjectResult, DescribeFieldResult).
export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'reference';

export interface PicklistEntry {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
  validFor: string | null;
}

export interface FieldDescribe {
  name: string;
  label: string;
  type: FieldType;
  soapType: string;
  length: number;
  byteLength: number;
  digits: number;
  precision: number;
  scale: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  defaultValue: string | boolean | number | null;
  calculated: boolean;
  calculatedFormula: string | null;
  autoNumber: boolean;
  externalId: boolean;
  unique: boolean;
  caseSensitive: boolean;
  idLookup: boolean;
  nameField: boolean;
  custom: boolean;
  filterable: boolean;
  sortable: boolean;
  groupable: boolean;
  aggregatable: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  polymorphicForeignKey: boolean;
  cascadeDelete: boolean;
  restrictedDelete: boolean;
  restrictedPicklist: boolean;
  dependentPicklist: boolean;
  picklistValues: PicklistEntry[];
  inlineHelpText: string | null;
  htmlFormatted: boolean;
  deprecatedAndHidden: boolean;
  encrypted: boolean;
  permissionable: boolean;
  extraTypeInfo: string | null;
}

export interface SObjectDescribe {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
  undeletable: boolean;
  queryable: boolean;
  retrieveable: boolean;
  searchable: boolean;
  layoutable: boolean;
  triggerable: boolean;
  replicateable: boolean;
  mergeable: boolean;
  feedEnabled: boolean;
  activateable: boolean;
  customSetting: boolean;
  deprecatedAndHidden: boolean;
  fields: FieldDescribe[];
  childRelationships: {
    childSObject: string;
    field: string;
    relationshipName: string | null;
    cascadeDelete: boolean;
  }[];
  recordTypeInfos: unknown[];
  urls: Record<string, string>;
}
