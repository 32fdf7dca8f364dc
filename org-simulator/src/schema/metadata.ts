// Stands in for the Metadata API deploy of CustomField/CustomObject XML from SFDX source.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { auditFields, field, idField, isDeletedField, ownerField, picklistEntries } from './field-builder.js';
import type { FieldDescribe } from './types.js';

/** A custom field, or a custom object with its fields, read from SFDX source. */
export interface CustomObjectSource {
  name: string;
  /** undefined when the folder only extends a standard object */
  object?: { label: string; labelPlural: string; description: string | null; nameField: FieldDescribe };
  fields: FieldDescribe[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'value',
});

type Xml = Record<string, unknown>;

function text(node: Xml, key: string): string | undefined {
  const v = node[key];
  return typeof v === 'string' ? v : undefined;
}
function flag(node: Xml, key: string): boolean {
  return text(node, key) === 'true';
}
function num(node: Xml, key: string, fallback: number): number {
  const v = text(node, key);
  return v === undefined ? fallback : Number(v);
}

function picklistValues(meta: Xml): {
  values: string[];
  labels: string[];
  defaultValue?: string;
  restricted: boolean;
} {
  const valueSet = (meta.valueSet ?? {}) as Xml;
  const definition = (valueSet.valueSetDefinition ?? {}) as Xml;
  const entries = (definition.value ?? []) as Xml[];
  const defaultEntry = entries.find((e) => flag(e, 'default'));
  return {
    values: entries.map((e) => text(e, 'fullName') ?? ''),
    labels: entries.map((e) => text(e, 'label') ?? text(e, 'fullName') ?? ''),
    defaultValue: defaultEntry ? text(defaultEntry, 'fullName') : undefined,
    restricted: flag(valueSet, 'restricted'),
  };
}

/** Parent-side relationship names of custom lookups, keyed `<parent>.<field>` in lower case. */
export const childRelationshipNames = new Map<string, string>();

/**
 * Data classification of fields (CustomField `<securityClassification>` / `<complianceGroup>`). Salesforce
 * does not put these in the sObject describe; it serves them as FieldDefinition.SecurityClassification /
 * ComplianceGroup (Tooling API and SOAP query), so they are kept beside the describe entry, not in it.
 */
export interface FieldClassification {
  securityClassification: string | null;
  complianceGroup: string | null;
}
const classifications = new WeakMap<FieldDescribe, FieldClassification>();
export function classificationOf(field: FieldDescribe): FieldClassification {
  return classifications.get(field) ?? { securityClassification: null, complianceGroup: null };
}

/** Maps one CustomField metadata document to its describe entry. */
export function customFieldDescribe(meta: Xml, file: string): FieldDescribe {
  const described = customFieldDescribeOnly(meta, file);
  // Shield Platform Encryption: a field with an encryption scheme is described `encrypted: true`.
  const scheme = text(meta, 'encryptionScheme');
  const entry = scheme && scheme !== 'None' ? { ...described, encrypted: true } : described;
  const securityClassification = text(meta, 'securityClassification') ?? null;
  const complianceGroup = text(meta, 'complianceGroup') ?? null;
  if (securityClassification || complianceGroup)
    classifications.set(entry, { securityClassification, complianceGroup });
  return entry;
}

function customFieldDescribeOnly(meta: Xml, file: string): FieldDescribe {
  const name = text(meta, 'fullName');
  const metaType = text(meta, 'type');
  if (!name || !metaType) throw new Error(`${file}: fullName and type are required`);
  const common = {
    label: text(meta, 'label') ?? name,
    inlineHelpText: text(meta, 'inlineHelpText') ?? null,
    externalId: flag(meta, 'externalId'),
    unique: flag(meta, 'unique'),
    caseSensitive: flag(meta, 'caseSensitive'),
    required: flag(meta, 'required'),
    custom: true,
  };
  const lookupable = { ...common, idLookup: common.externalId || common.unique };
  switch (metaType) {
    case 'Text':
      return field(name, 'string', { ...lookupable, length: num(meta, 'length', 255) });
    case 'TextArea':
      return field(name, 'textarea', { ...common, length: 255, filterable: true, sortable: true });
    case 'LongTextArea':
    case 'Html':
      return field(name, 'textarea', {
        ...common,
        length: num(meta, 'length', 32768),
        extraTypeInfo: 'plaintextarea',
      });
    case 'Email':
      return field(name, 'email', lookupable);
    case 'Phone':
      return field(name, 'phone', common);
    case 'Url':
      return field(name, 'url', common);
    case 'Number':
    case 'Currency':
    case 'Percent': {
      // Salesforce describes custom Number fields as double, whatever their scale.
      const type = metaType === 'Number' ? 'double' : metaType === 'Currency' ? 'currency' : 'percent';
      return field(name, type, {
        ...(metaType === 'Number' ? lookupable : common),
        precision: num(meta, 'precision', 18),
        scale: num(meta, 'scale', 0),
      });
    }
    case 'Checkbox':
      return field(name, 'boolean', {
        ...common,
        required: false,
        defaultValue: text(meta, 'defaultValue') === 'true',
      });
    case 'Date':
      return field(name, 'date', common);
    case 'DateTime':
      return field(name, 'datetime', common);
    case 'Picklist': {
      const p = picklistValues(meta);
      return {
        ...field(name, 'picklist', {
          ...common,
          restrictedPicklist: p.restricted,
          picklistDefault: p.defaultValue,
        }),
        picklistValues: picklistEntries(p.values, p.defaultValue, p.labels),
      };
    }
    case 'Lookup':
    case 'MasterDetail': {
      const referenceTo = text(meta, 'referenceTo');
      if (!referenceTo) throw new Error(`${file}: referenceTo is required for ${metaType}`);
      childRelationshipNames.set(
        `${referenceTo}.${name}`.toLowerCase(),
        `${text(meta, 'relationshipName') ?? name.replace(/__c$/, '')}__r`,
      );
      return field(name, 'reference', {
        ...common,
        required: metaType === 'MasterDetail' || common.required,
        referenceTo: [referenceTo],
        relationshipName: name.replace(/__c$/, '__r'),
        cascadeDelete: metaType === 'MasterDetail',
        restrictedDelete: text(meta, 'deleteConstraint') === 'Restrict',
      });
    }
    default:
      throw new Error(`${file}: field type ${metaType} is not supported by the org simulator`);
  }
}

function nameFieldOf(objectMeta: Xml): FieldDescribe {
  const nameMeta = (objectMeta.nameField ?? {}) as Xml;
  const label = text(nameMeta, 'label') ?? 'Name';
  if (text(nameMeta, 'type') === 'AutoNumber') {
    return field('Name', 'string', {
      label,
      length: 80,
      readonly: true,
      autoNumber: true,
      nameField: true,
      nillable: false,
      defaultedOnCreate: true,
      idLookup: true,
      calculatedFormula: text(nameMeta, 'displayFormat') ?? null,
    });
  }
  return field('Name', 'string', { label, length: 80, nameField: true, idLookup: true, nillable: true });
}

/** Reads every object folder under `<forceAppDir>/objects`. Files are read each call, so new field files show up. */
export function readCustomMetadata(forceAppDir: string): CustomObjectSource[] {
  const objectsDir = join(forceAppDir, 'objects');
  if (!existsSync(objectsDir)) return [];
  const sources: CustomObjectSource[] = [];
  for (const objectName of readdirSync(objectsDir).sort()) {
    const dir = join(objectsDir, objectName);
    const objectFile = join(dir, `${objectName}.object-meta.xml`);
    const source: CustomObjectSource = { name: objectName, fields: [] };
    if (existsSync(objectFile)) {
      const meta = (parser.parse(readFileSync(objectFile, 'utf8')) as Xml).CustomObject as Xml;
      if (objectName.endsWith('__c')) {
        const label = text(meta, 'label') ?? objectName;
        source.object = {
          label,
          labelPlural: text(meta, 'pluralLabel') ?? label,
          description: text(meta, 'description') ?? null,
          nameField: nameFieldOf(meta),
        };
      }
    }
    const fieldsDir = join(dir, 'fields');
    if (existsSync(fieldsDir)) {
      for (const file of readdirSync(fieldsDir).sort()) {
        if (!file.endsWith('.field-meta.xml')) continue;
        const path = join(fieldsDir, file);
        const doc = parser.parse(readFileSync(path, 'utf8')) as Xml;
        source.fields.push(customFieldDescribe(doc.CustomField as Xml, path));
      }
    }
    sources.push(source);
  }
  return sources;
}

/** Standard fields every custom object has, around its Name field. */
export function customObjectStandardFields(nameField: FieldDescribe): FieldDescribe[] {
  return [idField(), ownerField(), isDeletedField(), nameField, ...auditFields()];
}
