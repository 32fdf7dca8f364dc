// Stands in for Salesforce's field type defaults in describe (length, nillable, createable, ...).
import type { FieldDescribe, FieldType, PicklistEntry } from './types.js';

const SOAP_TYPES: Record<FieldType, string> = {
  id: 'tns:ID',
  string: 'xsd:string',
  textarea: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  url: 'xsd:string',
  picklist: 'xsd:string',
  boolean: 'xsd:boolean',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
  reference: 'tns:ID',
};

const DEFAULT_LENGTH: Partial<Record<FieldType, number>> = {
  id: 18,
  reference: 18,
  string: 255,
  textarea: 32000,
  email: 80,
  phone: 40,
  url: 255,
  picklist: 255,
};

export type FieldOptions = Partial<Omit<FieldDescribe, 'name' | 'type' | 'picklistValues'>> & {
  picklist?: string[];
  picklistDefault?: string;
  /** read-only system or calculated field */
  readonly?: boolean;
  required?: boolean;
};

export function picklistEntries(values: string[], defaultValue?: string, labels?: string[]): PicklistEntry[] {
  return values.map((value, i) => ({
    value,
    label: labels?.[i] ?? value,
    active: true,
    defaultValue: value === defaultValue,
    validFor: null,
  }));
}

function humanize(name: string): string {
  return name
    .replace(/__c$/, '')
    .replace(/Id$/, ' ID')
    .replace(/_/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .trim();
}

/** A describe entry with Salesforce's defaults for the type; options override. */
export function field(name: string, type: FieldType, opts: FieldOptions = {}): FieldDescribe {
  const { picklist, picklistDefault, readonly, required, ...overrides } = opts;
  const length = overrides.length ?? DEFAULT_LENGTH[type] ?? 0;
  const isText = ['string', 'textarea', 'email', 'phone', 'url', 'picklist', 'id', 'reference'].includes(
    type,
  );
  const writable = !readonly && type !== 'id';
  const base: FieldDescribe = {
    name,
    label: humanize(name),
    type,
    soapType: SOAP_TYPES[type],
    length,
    byteLength: isText ? length * 3 : 0,
    digits: type === 'int' ? 9 : 0,
    precision: 0,
    scale: 0,
    nillable: type !== 'boolean' && type !== 'id' && !required,
    createable: writable,
    updateable: writable,
    defaultedOnCreate: type === 'boolean' || type === 'id' || picklistDefault !== undefined,
    defaultValue: type === 'boolean' ? false : (picklistDefault ?? null),
    calculated: false,
    calculatedFormula: null,
    autoNumber: false,
    externalId: false,
    unique: false,
    caseSensitive: false,
    idLookup: type === 'id',
    nameField: false,
    custom: name.endsWith('__c'),
    filterable: type !== 'textarea',
    sortable: type !== 'textarea',
    groupable: !['textarea', 'double', 'currency', 'percent', 'datetime'].includes(type),
    aggregatable: type !== 'textarea',
    referenceTo: [],
    relationshipName: null,
    polymorphicForeignKey: false,
    cascadeDelete: false,
    restrictedDelete: false,
    restrictedPicklist: false,
    dependentPicklist: false,
    picklistValues: picklist ? picklistEntries(picklist, picklistDefault) : [],
    inlineHelpText: null,
    htmlFormatted: false,
    deprecatedAndHidden: false,
    encrypted: false,
    permissionable: writable && type !== 'boolean' ? !required : writable,
    extraTypeInfo: null,
  };
  const result = { ...base, ...overrides };
  result.polymorphicForeignKey = result.referenceTo.length > 1;
  return result;
}

/** System audit fields every object carries. */
export function auditFields(): FieldDescribe[] {
  const sys = { readonly: true, nillable: false, defaultedOnCreate: true };
  return [
    field('CreatedDate', 'datetime', { ...sys, label: 'Created Date' }),
    field('CreatedById', 'reference', {
      ...sys,
      label: 'Created By ID',
      referenceTo: ['User'],
      relationshipName: 'CreatedBy',
    }),
    field('LastModifiedDate', 'datetime', { ...sys, label: 'Last Modified Date' }),
    field('LastModifiedById', 'reference', {
      ...sys,
      label: 'Last Modified By ID',
      referenceTo: ['User'],
      relationshipName: 'LastModifiedBy',
    }),
    field('SystemModstamp', 'datetime', { ...sys, label: 'System Modstamp' }),
  ];
}

export function idField(): FieldDescribe {
  return field('Id', 'id', { label: 'Record ID', nillable: false, filterable: true, groupable: true });
}

export function isDeletedField(): FieldDescribe {
  return field('IsDeleted', 'boolean', { label: 'Deleted', readonly: true });
}

export function ownerField(referenceTo: string[] = ['Group', 'User']): FieldDescribe {
  return field('OwnerId', 'reference', {
    label: 'Owner ID',
    referenceTo,
    relationshipName: 'Owner',
    nillable: false,
    defaultedOnCreate: true,
  });
}
