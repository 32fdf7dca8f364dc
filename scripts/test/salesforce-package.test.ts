import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertToMetadataFormat, manifestPath, renderPackageXml } from '../salesforce-package.js';

const cleanup: string[] = [];
afterAll(async () => Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true }))));

describe('the force-app package', () => {
  it('has a manifest/package.xml that lists every component in force-app', async () => {
    expect(await readFile(manifestPath, 'utf8')).toBe(await renderPackageXml());
  });

  it('converts to Metadata API format with the custom fields merged into their objects', async () => {
    const { components, outputDir } = await convertToMetadataFormat();
    cleanup.push(outputDir);
    expect(components).toBeGreaterThan(0);
    const lead = await readFile(join(outputDir, 'objects', 'Lead.object'), 'utf8');
    expect(lead).toContain('<fullName>Lead_Score__c</fullName>');
    const history = await readFile(join(outputDir, 'objects', 'Score_History__c.object'), 'utf8');
    expect(history).toContain('<fullName>External_Key__c</fullName>');
    expect(history).toContain('<externalId>true</externalId>');
  });

  it('converts the Apex, custom metadata, LWCs and people-facing metadata', async () => {
    const { outputDir } = await convertToMetadataFormat();
    cleanup.push(outputDir);
    const manifest = await readFile(join(outputDir, 'package.xml'), 'utf8');
    for (const type of [
      'ApexClass',
      'ApexTrigger',
      'CustomMetadata',
      'LightningComponentBundle',
      'PermissionSet',
    ]) {
      expect(manifest).toContain(`<name>${type}</name>`);
    }
    for (const member of [
      'LeadTrigger',
      'Scoring_Rule.Large_Company',
      'Leadrank/Stale_Scores',
      'Leadrank_Sidecar_EU',
    ]) {
      expect(manifest).toContain(`<members>${member}</members>`);
    }
    const rule = await readFile(join(outputDir, 'objects', 'Scoring_Rule__mdt.object'), 'utf8');
    expect(rule).toContain('<fullName>Operator__c</fullName>');
  });

  it('fails the conversion on malformed metadata source', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'leadrank-broken-'));
    cleanup.push(copy);
    await cp(join(import.meta.dirname, '..', '..', 'force-app'), copy, { recursive: true });
    await writeFile(
      join(copy, 'main', 'default', 'objects', 'Lead', 'fields', 'Lead_Score__c.field-meta.xml'),
      '<?xml version="1.0"?><CustomField><fullName>Lead_Score__c</fullName>',
    );
    await expect(convertToMetadataFormat(copy)).rejects.toThrow(/Lead_Score__c.field-meta.xml:1/);
  });
});
