// Stands in for the org's metadata: standard objects plus the custom fields and objects deployed from force-app.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childRelationshipNames, customObjectStandardFields, readCustomMetadata } from './metadata.js';
import { namespacedMetadata } from './namespaced.js';
import { SETUP_OBJECTS } from './setup-objects.js';
import { STANDARD_OBJECTS } from './standard-objects.js';
import type { FieldDescribe, SObjectDescribe } from './types.js';

export type { FieldDescribe, FieldType, PicklistEntry, SObjectDescribe } from './types.js';
export { classificationOf, type FieldClassification } from './metadata.js';
export { namespacedMetadata } from './namespaced.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export class OrgSchema {
  private readonly byName = new Map<string, SObjectDescribe>();
  private readonly fieldsByObject = new Map<string, Map<string, FieldDescribe>>();
  private readonly byPrefix = new Map<string, SObjectDescribe>();

  constructor(objects: SObjectDescribe[]) {
    for (const o of objects) {
      const key = o.name.toLowerCase();
      this.byName.set(key, o);
      this.byPrefix.set(o.keyPrefix, o);
      this.fieldsByObject.set(key, new Map(o.fields.map((f) => [f.name.toLowerCase(), f])));
    }
  }

  /** Case-insensitive. */
  object(name: string): SObjectDescribe | undefined {
    return this.byName.get(name.toLowerCase());
  }

  objects(): SObjectDescribe[] {
    return [...this.byName.values()];
  }

  /** Case-insensitive on both names. */
  field(object: string, field: string): FieldDescribe | undefined {
    return this.fieldsByObject.get(object.toLowerCase())?.get(field.toLowerCase());
  }

  objectByKeyPrefix(prefix: string): SObjectDescribe | undefined {
    return this.byPrefix.get(prefix);
  }

  /** The reference field whose relationshipName is `relationship` (case-insensitive), e.g. Owner → OwnerId. */
  relationship(object: string, relationship: string): FieldDescribe | undefined {
    const r = relationship.toLowerCase();
    return this.object(object)?.fields.find((f) => f.relationshipName?.toLowerCase() === r);
  }
}

function urlsFor(name: string, custom: boolean): Record<string, string> {
  const base = `/services/data/v{version}/sobjects/${name}`;
  return {
    sobject: base,
    describe: `${base}/describe`,
    rowTemplate: `${base}/{ID}`,
    ...(custom ? {} : { compactLayouts: `${base}/describe/compactLayouts` }),
  };
}

function describeObject(
  def: { name: string; label: string; labelPlural: string; keyPrefix: string; deletable: boolean },
  custom: boolean,
  fields: FieldDescribe[],
): SObjectDescribe {
  return {
    name: def.name,
    label: def.label,
    labelPlural: def.labelPlural,
    keyPrefix: def.keyPrefix,
    custom,
    createable: true,
    updateable: true,
    deletable: def.deletable,
    undeletable: def.deletable,
    queryable: true,
    retrieveable: true,
    searchable: true,
    layoutable: true,
    triggerable: true,
    replicateable: true,
    mergeable: ['Lead', 'Account'].includes(def.name),
    feedEnabled: false,
    activateable: false,
    customSetting: false,
    deprecatedAndHidden: false,
    fields,
    childRelationships: [],
    recordTypeInfos: [],
    urls: urlsFor(def.name, custom),
  };
}

/**
 * The org's schema: the standard catalogue plus custom fields and objects from SFDX source.
 * Custom objects get key prefixes a00, a01, ... in name order.
 */
export function loadOrgSchema(
  opts: {
    forceAppDir?: string;
    /** a client's own metadata, deployed on top (custom fields) */ extraMetadataDirs?: string[];
    /** the package installed as a managed package with this namespace (force-app's names prefixed) */
    packageNamespace?: string;
    /**
     * Setup's "Make data protection details available in records" (default on). Off, the org has no Individual
     * object and no Lead.IndividualId, and a query of Individual answers INVALID_TYPE, as in such an org.
     */
    dataProtection?: boolean;
  } = {},
): OrgSchema {
  const source = opts.forceAppDir ?? join(REPO_ROOT, 'force-app/main/default');
  const forceAppDir = opts.packageNamespace ? namespacedMetadata(source, opts.packageNamespace) : source;
  const sources = [forceAppDir, ...(opts.extraMetadataDirs ?? [])].flatMap(readCustomMetadata);
  const dataProtection = opts.dataProtection ?? true;
  const objects = [...STANDARD_OBJECTS, ...SETUP_OBJECTS]
    .filter((def) => dataProtection || def.name !== 'Individual')
    .map((def) =>
      describeObject(
        def,
        false,
        def.fields.filter((f) => dataProtection || f.name !== 'IndividualId'),
      ),
    );
  let customIndex = 0;
  for (const source of sources) {
    const existing = objects.find((o) => o.name.toLowerCase() === source.name.toLowerCase());
    if (existing) {
      existing.fields.push(...source.fields);
    } else if (source.object) {
      const keyPrefix = `a${BASE62[Math.floor(customIndex / 62)]}${BASE62[customIndex % 62]}`;
      customIndex++;
      const fields = [...customObjectStandardFields(source.object.nameField), ...source.fields];
      objects.push(
        describeObject({ ...source.object, name: source.name, keyPrefix, deletable: true }, true, fields),
      );
    }
    // Folders for standard objects outside the catalogue (e.g. Contact) are ignored: nothing stores them.
  }
  for (const parent of objects) {
    for (const child of objects) {
      for (const f of child.fields) {
        if (f.type === 'reference' && f.referenceTo.includes(parent.name) && !f.name.endsWith('ById')) {
          parent.childRelationships.push({
            childSObject: child.name,
            field: f.name,
            relationshipName: childRelationshipNames.get(`${parent.name}.${f.name}`.toLowerCase()) ?? null,
            cascadeDelete: f.cascadeDelete,
          });
        }
      }
    }
  }
  return new OrgSchema(objects);
}
