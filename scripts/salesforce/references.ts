// Checks, without an org, that every name the package's code and metadata refer to exists: custom
// objects, fields and metadata types used by Apex, LWC imports, reports, list views, layouts, permission
// sets and custom metadata records, and the fields of the rules and action configs. Also checks that every
// Apex class has a test class that references it and that every test class asserts something.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { checkCustomMetadataSoql } from './cmdt-soql.js';
import { CUSTOM_OBJECT_STANDARD_FIELDS, PSEUDO_FIELDS, STANDARD_FIELDS } from './standard-fields.js';

export interface ReferenceProblem {
  file: string;
  message: string;
}

export interface PackageModel {
  root: string;
  /** Object API name → custom field names defined in force-app. */
  customFields: Map<string, Set<string>>;
  /** Custom objects, custom metadata types and platform events defined in force-app. */
  customObjects: Set<string>;
  /** `Object.Field` of required custom fields (a Big Object's index fields): they take no field-level security. */
  requiredFields: Set<string>;
  apexClasses: Map<string, string>;
  /** Classes and triggers, by path relative to the package directory. */
  apexSources: Map<string, string>;
  files: string[];
}

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: () => true });

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

export async function loadPackageModel(defaultDir: string): Promise<PackageModel> {
  const files = await listFiles(defaultDir);
  const customFields = new Map<string, Set<string>>();
  const customObjects = new Set<string>();
  const requiredFields = new Set<string>();
  const apexClasses = new Map<string, string>();
  const apexSources = new Map<string, string>();
  for (const file of files) {
    const rel = relative(defaultDir, file).split('/');
    if (rel[0] === 'objects' && rel.length >= 3) {
      const object = rel[1] as string;
      if (!customFields.has(object)) customFields.set(object, new Set());
      if (/__(c|mdt|e|b)$/.test(object)) customObjects.add(object);
      if (rel[2] === 'fields') {
        const field = basename(file, '.field-meta.xml');
        customFields.get(object)?.add(field);
        if ((await readFile(file, 'utf8')).includes('<required>true</required>'))
          requiredFields.add(`${object}.${field}`);
      }
    }
    if (file.endsWith('.cls') || file.endsWith('.trigger')) {
      const source = await readFile(file, 'utf8');
      apexSources.set(relative(defaultDir, file), source);
      if (file.endsWith('.cls')) apexClasses.set(basename(file, '.cls'), source);
    }
  }
  return { root: defaultDir, customFields, customObjects, requiredFields, apexClasses, apexSources, files };
}

export function fieldExists(model: PackageModel, object: string, field: string): boolean {
  if (model.customFields.get(object)?.has(field)) return true;
  if (model.customObjects.has(object)) return CUSTOM_OBJECT_STANDARD_FIELDS.includes(field);
  return STANDARD_FIELDS[object]?.includes(field) ?? false;
}

function objectExists(model: PackageModel, object: string): boolean {
  return model.customObjects.has(object) || object in STANDARD_FIELDS;
}

/** All text values under the given element names, anywhere in a parsed XML document. */
function valuesOf(node: unknown, keys: ReadonlySet<string>, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((child) => valuesOf(child, keys, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (keys.has(key)) {
        for (const item of Array.isArray(value) ? value : [value])
          if (typeof item === 'string') found.push(item);
      }
      valuesOf(value, keys, found);
    }
  }
  return found;
}

function stripApexComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

export function isTestClass(source: string): boolean {
  return /@IsTest\b[\s\S]*?\bclass\b/i.test(stripApexComments(source).slice(0, 400));
}

function checkApex(model: PackageModel, problems: ReferenceProblem[]): void {
  const allFields = new Set([...model.customFields.values()].flatMap((fields) => [...fields]));
  for (const [file, raw] of model.apexSources) {
    const source = stripApexComments(raw);
    for (const [, object, field] of source.matchAll(/\b(\w+__(?:c|mdt))\.(\w+__c)\b/g)) {
      if (object && field && model.customObjects.has(object) && !fieldExists(model, object, field)) {
        problems.push({ file, message: `${object}.${field} does not exist` });
      }
    }
    for (const [token] of source.matchAll(/\b\w+__(?:c|mdt|e)\b/g)) {
      if (!model.customObjects.has(token) && !allFields.has(token)) {
        problems.push({
          file,
          message: `${token} is neither a custom object nor a custom field in force-app`,
        });
      }
    }
  }

  const tests = [...model.apexClasses].filter(([, source]) => isTestClass(source));
  for (const [name, source] of tests) {
    const body = stripApexComments(source);
    const hasTestMethod = /@IsTest\s+(?:(?:static|private|public)\s+)*void\s+\w+\s*\(/i.test(body);
    if (hasTestMethod && !/\b(Assert\.\w+|System\.assert\w*)\s*\(/.test(body)) {
      problems.push({ file: `classes/${name}.cls`, message: 'test class has no assertion' });
    }
  }
  const testMethodClasses = tests.filter(([, source]) =>
    /@IsTest\s+(?:(?:static|private|public)\s+)*void/i.test(source),
  );
  for (const [name, source] of model.apexClasses) {
    if (isTestClass(source)) continue;
    const covered = testMethodClasses.some(([, test]) =>
      new RegExp(`\\b${name}\\b`).test(stripApexComments(test)),
    );
    if (!covered) problems.push({ file: `classes/${name}.cls`, message: `no test class references ${name}` });
  }
}

/** Custom Label names defined in labels/CustomLabels.labels-meta.xml. */
async function customLabelNames(model: PackageModel): Promise<Set<string>> {
  const file = join(model.root, 'labels', 'CustomLabels.labels-meta.xml');
  const text = await readFile(file, 'utf8').catch(() => '');
  return new Set([...text.matchAll(/<fullName>(\w+)<\/fullName>/g)].map((m) => m[1] ?? ''));
}

function checkLabels(
  model: PackageModel,
  labels: Set<string>,
  file: string,
  source: string,
  problems: ReferenceProblem[],
) {
  const rel = file.startsWith(model.root) ? relative(model.root, file) : file;
  const used = [
    ...source.matchAll(/['"]@salesforce\/label\/c\.(\w+)['"]/g),
    ...source.matchAll(/\bSystem\.Label\.(\w+)/g),
  ].map((m) => m[1] ?? '');
  for (const name of used) {
    if (!labels.has(name)) problems.push({ file: rel, message: `unknown Custom Label ${name}` });
  }
}

function checkLwc(model: PackageModel, file: string, source: string, problems: ReferenceProblem[]): void {
  const rel = relative(model.root, file);
  for (const [, object, field] of source.matchAll(/['"]@salesforce\/schema\/(\w+)\.(\w+)['"]/g)) {
    if (!object || !field) continue;
    if (!objectExists(model, object)) problems.push({ file: rel, message: `unknown object ${object}` });
    else if (!fieldExists(model, object, field))
      problems.push({ file: rel, message: `unknown field ${object}.${field}` });
  }
  for (const [, className, method] of source.matchAll(/['"]@salesforce\/apex\/(\w+)\.(\w+)['"]/g)) {
    if (!className || !method) continue;
    const apex = model.apexClasses.get(className);
    const aura = new RegExp(`@AuraEnabled[^\\n]*\\s+public\\s+static\\s+[\\w<>.,\\s]+?\\s${method}\\s*\\(`);
    if (!apex) problems.push({ file: rel, message: `unknown Apex class ${className}` });
    else if (!aura.test(apex))
      problems.push({ file: rel, message: `${className}.${method} is not an @AuraEnabled static method` });
  }
}

function checkFieldList(
  model: PackageModel,
  file: string,
  object: string,
  fields: string[],
  problems: ReferenceProblem[],
): void {
  for (const field of fields) {
    if (!fieldExists(model, object, field))
      problems.push({ file, message: `unknown field ${object}.${field}` });
  }
}

async function checkMetadata(model: PackageModel, problems: ReferenceProblem[]): Promise<void> {
  // Custom metadata and platform event fields have no field-level security, nor have required fields.
  const everyCustomField = [...model.customFields]
    .filter(([object]) => !object.endsWith('__mdt') && !object.endsWith('__e'))
    .flatMap(([object, fields]) => [...fields].map((field) => `${object}.${field}`))
    .filter((field) => !model.requiredFields.has(field));

  for (const file of model.files.filter((f) => f.endsWith('-meta.xml'))) {
    const rel = relative(model.root, file);
    const doc = xml.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    const name = basename(file);

    if (name.endsWith('.report-meta.xml')) {
      const columns = valuesOf(
        doc,
        new Set(['field', 'column', 'groupingColumn', 'secondaryGroupingColumn', 'dateColumn']),
      );
      for (const column of columns.filter((c) => c.includes('$'))) {
        const [object = '', field = ''] = column.split('$');
        checkFieldList(model, rel, object, [field], problems);
      }
      for (const formula of valuesOf(doc, new Set(['calculatedFormula']))) {
        for (const [, object, field] of formula.matchAll(/(\w+)\.(\w+):/g)) {
          if (object && field) checkFieldList(model, rel, object, [field], problems);
        }
      }
      // A chart plots a column, RowCount or one of the report's own summary formulas.
      const formulas = valuesOf(doc, new Set(['developerName']));
      const chartColumns = valuesOf(
        (doc.Report as Record<string, unknown>[] | undefined)?.[0]?.chart,
        new Set(['column']),
      );
      for (const column of chartColumns.filter((c) => !c.includes('$') && c !== 'RowCount')) {
        if (!formulas.includes(column))
          problems.push({ file: rel, message: `chart plots unknown summary ${column}` });
      }
      if (/rate/i.test(valuesOf(doc, new Set(['name']))[0] ?? '') && chartColumns.includes('RowCount')) {
        problems.push({ file: rel, message: 'a rate report charts RowCount, not its rate formula' });
      }
      for (const type of valuesOf(doc, new Set(['reportType']))) {
        const typeFile = join(model.root, 'reportTypes', `${type.replace(/__c$/, '')}.reportType-meta.xml`);
        if (!model.files.includes(typeFile))
          problems.push({ file: rel, message: `unknown report type ${type}` });
      }
    } else if (name.endsWith('.reportType-meta.xml')) {
      const base = valuesOf(doc, new Set(['baseObject']))[0] ?? '';
      if (!objectExists(model, base)) problems.push({ file: rel, message: `unknown base object ${base}` });
      checkFieldList(model, rel, base, valuesOf(doc, new Set(['field'])), problems);
    } else if (name.endsWith('.dashboard-meta.xml')) {
      for (const report of valuesOf(doc, new Set(['report']))) {
        if (!model.files.includes(join(model.root, 'reports', `${report}.report-meta.xml`))) {
          problems.push({ file: rel, message: `unknown report ${report}` });
        }
      }
    } else if (name.endsWith('.listView-meta.xml')) {
      const object = basename(dirname(dirname(file)));
      const fields = valuesOf(doc, new Set(['columns', 'field'])).filter((f) => f.endsWith('__c'));
      checkFieldList(model, rel, object, fields, problems);
    } else if (name.endsWith('.layout-meta.xml')) {
      const object = name.split('-')[0] ?? '';
      checkFieldList(model, rel, object, valuesOf(doc, new Set(['field'])), problems);
    } else if (name.endsWith('.permissionset-meta.xml')) {
      const granted = valuesOf(doc, new Set(['field']));
      for (const entry of granted) {
        const [object = '', field = ''] = entry.split('.');
        checkFieldList(model, rel, object, [field], problems);
      }
      // A set that grants no field at all (e.g. only a custom permission) needs no field list.
      for (const missing of everyCustomField.filter((f) => granted.length > 0 && !granted.includes(f))) {
        problems.push({ file: rel, message: `no field-level security for ${missing}` });
      }
      for (const apexClass of valuesOf(doc, new Set(['apexClass']))) {
        if (!model.apexClasses.has(apexClass))
          problems.push({ file: rel, message: `unknown Apex class ${apexClass}` });
      }
      for (const object of valuesOf(doc, new Set(['object', 'tab']))) {
        if (!objectExists(model, object)) problems.push({ file: rel, message: `unknown object ${object}` });
      }
      const root = (doc.PermissionSet as Record<string, unknown>[] | undefined)?.[0];
      for (const type of valuesOf(root?.customMetadataTypeAccesses, new Set(['name']))) {
        if (!model.customObjects.has(type))
          problems.push({ file: rel, message: `unknown custom metadata type ${type}` });
      }
      for (const principal of valuesOf(doc, new Set(['externalCredentialPrincipal']))) {
        const credential = principal.split('-')[0] ?? '';
        const credentialFile = join(
          model.root,
          'externalCredentials',
          `${credential}.externalCredential-meta.xml`,
        );
        if (!model.files.includes(credentialFile)) {
          problems.push({ file: rel, message: `unknown external credential ${credential}` });
        }
      }
    } else if (name.endsWith('.flexipage-meta.xml')) {
      for (const component of valuesOf(doc, new Set(['componentName'])).filter((c) => !c.includes(':'))) {
        if (!model.files.includes(join(model.root, 'lwc', component, `${component}.js`)))
          problems.push({ file: rel, message: `unknown Lightning web component ${component}` });
      }
    } else if (name.endsWith('.compactLayout-meta.xml')) {
      const object = basename(dirname(dirname(file)));
      checkFieldList(model, rel, object, valuesOf(doc, new Set(['fields'])), problems);
    } else if (name.endsWith('.md-meta.xml')) {
      const type = `${name.split('.')[0]}__mdt`;
      if (!model.customObjects.has(type))
        problems.push({ file: rel, message: `unknown custom metadata type ${type}` });
      else checkFieldList(model, rel, type, valuesOf(doc, new Set(['field'])), problems);
    }
  }
}

/** Rule and eligibility fields must be pseudo-fields or Lead fields (standard or in force-app). */
export function checkConfigFields(
  model: PackageModel,
  file: string,
  config: unknown,
  problems: ReferenceProblem[],
): void {
  for (const field of valuesOfJson(config, 'field')) {
    if (!(PSEUDO_FIELDS as readonly string[]).includes(field) && !fieldExists(model, 'Lead', field)) {
      problems.push({ file, message: `${field} is not a Lead field or pseudo-field` });
    }
  }
}

function valuesOfJson(node: unknown, key: string, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((child) => valuesOfJson(child, key, found));
  else if (node && typeof node === 'object') {
    for (const [k, value] of Object.entries(node)) {
      if (k === key && typeof value === 'string') found.push(value);
      else valuesOfJson(value, key, found);
    }
  }
  return found;
}

export async function checkReferences(
  defaultDir: string,
  configFiles: readonly string[],
): Promise<ReferenceProblem[]> {
  const model = await loadPackageModel(defaultDir);
  const problems: ReferenceProblem[] = [];
  checkApex(model, problems);
  checkCustomMetadataSoql(model, problems);
  const labels = await customLabelNames(model);
  for (const [file, source] of model.apexSources) checkLabels(model, labels, file, source, problems);
  for (const file of model.files.filter(
    (f) => f.includes('/lwc/') && f.endsWith('.js') && !f.includes('__tests__'),
  )) {
    const source = await readFile(file, 'utf8');
    checkLwc(model, file, source, problems);
    checkLabels(model, labels, file, source, problems);
  }
  await checkMetadata(model, problems);
  for (const file of configFiles) {
    checkConfigFields(model, file, JSON.parse(await readFile(file, 'utf8')), problems);
  }
  return problems;
}
