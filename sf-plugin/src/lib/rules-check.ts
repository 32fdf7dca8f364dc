// Before deploying: the Scoring_Rule__mdt records in the source must say what config/rules says (the
// sidecar's rules fallback and the Apex one must score alike). Compares developer name, points and active.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

interface RuleConfig {
  rules: { developerName: string; points: number; active: boolean }[];
}

function valueOf(xml: string, field: string): string | null {
  const match = new RegExp(`<field>${field}</field>\\s*<value[^>]*>([^<]*)</value>`).exec(xml);
  return match ? (match[1] ?? null) : null;
}

/** Differences between config/rules/default.json and the source's Scoring_Rule records; [] when in sync. */
export async function rulesDrift(forceAppDir: string, rulesFile: string): Promise<string[]> {
  const config = JSON.parse(await readFile(rulesFile, 'utf8')) as RuleConfig;
  const dir = join(forceAppDir, 'main', 'default', 'customMetadata');
  const files = (await readdir(dir)).filter((f) => f.startsWith('Scoring_Rule.'));
  const records = new Map<string, string>();
  for (const file of files)
    records.set(
      file.slice('Scoring_Rule.'.length, -'.md-meta.xml'.length),
      await readFile(join(dir, file), 'utf8'),
    );
  const problems: string[] = [];
  for (const rule of config.rules) {
    const xml = records.get(rule.developerName);
    if (!xml) {
      problems.push(`${rule.developerName}: in ${rulesFile} but no Scoring_Rule record`);
      continue;
    }
    if (Number(valueOf(xml, 'Points__c')) !== rule.points)
      problems.push(
        `${rule.developerName}: Points__c is ${valueOf(xml, 'Points__c')}, config says ${rule.points}`,
      );
    if ((valueOf(xml, 'Active__c') === 'true') !== rule.active)
      problems.push(
        `${rule.developerName}: Active__c is ${valueOf(xml, 'Active__c')}, config says ${rule.active}`,
      );
    records.delete(rule.developerName);
  }
  for (const name of records.keys()) problems.push(`${name}: a Scoring_Rule record not in ${rulesFile}`);
  return problems;
}
