import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { customMetadataXml, findDrift, paths, renderGeneratedFiles } from '../salesforce/sync-rules.js';

const defaultDir = join(import.meta.dirname, '..', '..', 'force-app', 'main', 'default');
const cleanup: string[] = [];
afterAll(async () => Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true }))));

async function copyOfDefault(): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'leadrank-sync-'));
  cleanup.push(copy);
  await cp(defaultDir, copy, { recursive: true });
  return copy;
}

describe('custom metadata generated from config/', () => {
  it('is in sync with config/rules and config/actions (sync-rules --check)', async () => {
    expect(await findDrift()).toEqual({ missing: [], changed: [], stale: [] });
  });

  it('has one record per rule and action, plus the settings record, all well-formed', async () => {
    const rules = JSON.parse(await readFile(paths.rules, 'utf8')) as { rules: unknown[] };
    const actions = JSON.parse(await readFile(paths.catalogue, 'utf8')) as { actions: unknown[] };
    const files = await renderGeneratedFiles();
    const records = [...files.keys()].filter((p) => p.startsWith('customMetadata/'));
    expect(records.filter((p) => p.includes('/Scoring_Rule.'))).toHaveLength(rules.rules.length);
    expect(records.filter((p) => p.includes('/Next_Best_Action.'))).toHaveLength(actions.actions.length);
    expect(records).toContain('customMetadata/Scoring_Setting.Default.md-meta.xml');
    for (const content of files.values()) {
      if (content.startsWith('<?xml')) expect(XMLValidator.validate(content)).toBe(true);
    }
  });

  it('writes rule values as JSON literals with their XML types, and null for isNull rules', () => {
    const xml = customMetadataXml('Big <Company> & Co', {
      Points__c: -5,
      Active__c: true,
      Value__c: null,
      Field__c: 'a&b',
    });
    expect(xml).toContain('<label>Big &lt;Company&gt; &amp; Co</label>');
    expect(xml).toContain('<value xsi:type="xsd:double">-5</value>');
    expect(xml).toContain('<value xsi:type="xsd:boolean">true</value>');
    expect(xml).toContain('<value xsi:nil="true"/>');
    expect(xml.indexOf('Active__c')).toBeLessThan(xml.indexOf('Field__c'));
  });

  it('gives the Apex tests the same rule set and vectors as config/', async () => {
    const resource = JSON.parse(
      await readFile(join(defaultDir, 'staticresources', 'LeadrankRuleVectors.json'), 'utf8'),
    );
    const vectors = JSON.parse(await readFile(paths.vectors, 'utf8'));
    const rules = JSON.parse(await readFile(paths.rules, 'utf8'));
    expect(resource.vectors).toEqual(vectors.vectors);
    expect(resource.now).toBe(vectors.now);
    expect(resource.ruleSet).toEqual(rules);
  });

  it('reports edited, missing and leftover records', async () => {
    const copy = await copyOfDefault();
    const edited = join(copy, 'customMetadata', 'Scoring_Rule.Large_Company.md-meta.xml');
    await writeFile(edited, (await readFile(edited, 'utf8')).replace('>15<', '>25<'));
    await rm(join(copy, 'customMetadata', 'Next_Best_Action.Nurture.md-meta.xml'));
    await writeFile(join(copy, 'customMetadata', 'Scoring_Rule.Retired_Rule.md-meta.xml'), '<x/>');

    expect(await findDrift(copy)).toEqual({
      missing: ['customMetadata/Next_Best_Action.Nurture.md-meta.xml'],
      changed: ['customMetadata/Scoring_Rule.Large_Company.md-meta.xml'],
      stale: ['customMetadata/Scoring_Rule.Retired_Rule.md-meta.xml'],
    });
  });
});
