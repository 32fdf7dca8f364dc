// Generates the org-side copies of the rules and the action catalogue from config/ (the single source):
// Scoring_Rule__mdt, Scoring_Setting__mdt and Next_Best_Action__mdt records under customMetadata/, and the
// LeadrankRuleVectors static resource the Apex tests assert against.
// Run: `npx tsx scripts/salesforce/sync-rules.ts [--check]` (--check fails when force-app has drifted).
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { XMLBuilder } from 'fast-xml-parser';
import { format, resolveConfig } from 'prettier';
import { loadActionCatalogue, loadRuleSet } from '../../scoring-sidecar/src/model/rules/index.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const paths = {
  rules: join(repoRoot, 'config', 'rules', 'default.json'),
  vectors: join(repoRoot, 'config', 'rules', 'conformance-vectors.json'),
  catalogue: join(repoRoot, 'config', 'actions', 'catalogue.json'),
};
export const GENERATED_PREFIXES = ['Scoring_Rule.', 'Scoring_Setting.', 'Next_Best_Action.'];
export const STATIC_RESOURCE = 'LeadrankRuleVectors';

type FieldValue = string | number | boolean | null;

const builder = new XMLBuilder({
  ignoreAttributes: false,
  format: true,
  indentBy: '    ',
  suppressEmptyNode: true,
  suppressBooleanAttributes: false,
});

/** One custom metadata record in source format; numbers are xsd:double as Salesforce retrieves them. */
export function customMetadataXml(label: string, values: Record<string, FieldValue>): string {
  const entries = Object.entries(values)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([field, value]) => {
      if (value === null) return { field, value: { '@_xsi:nil': 'true' } };
      const type =
        typeof value === 'number' ? 'xsd:double' : typeof value === 'boolean' ? 'xsd:boolean' : 'xsd:string';
      return { field, value: { '#text': String(value), '@_xsi:type': type } };
    });
  const body = builder.build({
    CustomMetadata: {
      '@_xmlns': 'http://soap.sforce.com/2006/04/metadata',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      label,
      protected: false,
      values: entries,
    },
  }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

function labelOf(developerName: string): string {
  return developerName.replaceAll('_', ' ').slice(0, 40);
}

/** Every generated file, keyed by its path relative to force-app/main/default. */
export async function renderGeneratedFiles(): Promise<Map<string, string>> {
  const ruleSet = await loadRuleSet(paths.rules);
  const catalogue = await loadActionCatalogue(paths.catalogue);
  const vectors = JSON.parse(await readFile(paths.vectors, 'utf8')) as Record<string, unknown>;
  const files = new Map<string, string>();

  for (const rule of ruleSet.rules) {
    files.set(
      `customMetadata/Scoring_Rule.${rule.developerName}.md-meta.xml`,
      customMetadataXml(labelOf(rule.developerName), {
        Active__c: rule.active,
        Field__c: rule.field,
        Operator__c: rule.operator,
        Points__c: rule.points,
        Reason_Text__c: rule.reasonText,
        // JSON keeps the value's type (text, number, boolean, list) for Apex's JSON.deserializeUntyped.
        Value__c: rule.value === undefined ? null : JSON.stringify(rule.value),
      }),
    );
  }
  files.set(
    'customMetadata/Scoring_Setting.Default.md-meta.xml',
    customMetadataXml('Default', {
      Band_A_Min__c: ruleSet.bandThresholds.A,
      Band_B_Min__c: ruleSet.bandThresholds.B,
      Band_C_Min__c: ruleSet.bandThresholds.C,
      Base_Score__c: ruleSet.baseScore,
      Max_Score__c: ruleSet.clamp.max,
      Min_Score__c: ruleSet.clamp.min,
      Rule_Set_Version__c: ruleSet.version,
    }),
  );
  for (const action of catalogue.actions) {
    files.set(
      `customMetadata/Next_Best_Action.${action.developerName}.md-meta.xml`,
      customMetadataXml(action.label, {
        Action__c: action.action,
        Active__c: action.active,
        Eligibility__c: JSON.stringify(action.eligibility),
        Priority__c: action.priority,
        Rationale_Template__c: action.rationaleTemplate,
        Task_Subject__c: action.taskSubject,
      }),
    );
  }

  const resourcePath = `staticresources/${STATIC_RESOURCE}.json`;
  const resource = { ruleSet, now: vectors.now, vectors: vectors.vectors };
  const prettierOptions = await resolveConfig(join(repoRoot, 'force-app', 'main', 'default', resourcePath));
  files.set(resourcePath, await format(JSON.stringify(resource), { ...prettierOptions, parser: 'json' }));
  files.set(
    `staticresources/${STATIC_RESOURCE}.resource-meta.xml`,
    [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<StaticResource xmlns="http://soap.sforce.com/2006/04/metadata">',
      '    <cacheControl>Private</cacheControl>',
      '    <contentType>application/json</contentType>',
      '    <description>Leadrank rule set and conformance vectors for LeadRulesScorerTest (generated).</description>',
      '</StaticResource>',
      '',
    ].join('\n'),
  );
  // force-app XML is prettier-formatted (@prettier/plugin-xml): generate it the way it is committed.
  for (const [path, content] of files) {
    if (!path.endsWith('.xml')) continue;
    const options = await resolveConfig(join(repoRoot, 'force-app', 'main', 'default', path));
    files.set(path, await format(content, { ...options, filepath: path }));
  }
  return files;
}

export interface Drift {
  missing: string[];
  changed: string[];
  stale: string[];
}

async function existingGeneratedFiles(defaultDir: string): Promise<string[]> {
  const names = await readdir(join(defaultDir, 'customMetadata')).catch(() => [] as string[]);
  return names
    .filter((name) => GENERATED_PREFIXES.some((prefix) => name.startsWith(prefix)))
    .map((name) => `customMetadata/${name}`);
}

export async function findDrift(defaultDir = join(repoRoot, 'force-app', 'main', 'default')): Promise<Drift> {
  const wanted = await renderGeneratedFiles();
  const drift: Drift = { missing: [], changed: [], stale: [] };
  for (const [path, content] of wanted) {
    const current = await readFile(join(defaultDir, path), 'utf8').catch(() => undefined);
    if (current === undefined) drift.missing.push(path);
    else if (current !== content) drift.changed.push(path);
  }
  drift.stale = (await existingGeneratedFiles(defaultDir)).filter((path) => !wanted.has(path));
  return drift;
}

export async function writeGeneratedFiles(defaultDir = join(repoRoot, 'force-app', 'main', 'default')) {
  const wanted = await renderGeneratedFiles();
  for (const [path, content] of wanted) {
    await mkdir(dirname(join(defaultDir, path)), { recursive: true });
    await writeFile(join(defaultDir, path), content);
  }
  for (const path of await existingGeneratedFiles(defaultDir)) {
    if (!wanted.has(path)) await rm(join(defaultDir, path));
  }
  return wanted.size;
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const drift = await findDrift();
    const problems = [
      ...drift.missing.map((p) => `missing ${p}`),
      ...drift.changed.map((p) => `out of date ${p}`),
      ...drift.stale.map((p) => `no longer in config ${p}`),
    ];
    if (problems.length > 0) {
      console.error(`force-app has drifted from config/:\n  ${problems.join('\n  ')}`);
      console.error('Run `npx tsx scripts/salesforce/sync-rules.ts` to regenerate.');
      process.exit(1);
    }
    console.log('custom metadata records and the vectors static resource match config/');
    return;
  }
  const count = await writeGeneratedFiles();
  console.log(
    `wrote ${count} files under ${relative(repoRoot, join(repoRoot, 'force-app', 'main', 'default'))}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
