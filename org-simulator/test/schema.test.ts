import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrgSchema } from '../src/schema/index.js';
import { startHarness, type Harness } from './sim-harness.js';

describe('describe over REST (jsforce)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.sim.close());

  it('describes a standard object with real names, types and key prefix', async () => {
    const d = await h.conn.sobject('Lead').describe();
    expect(d.name).toBe('Lead');
    expect(d.keyPrefix).toBe('00Q');
    expect(d.urls.describe).toBe('/services/data/v62.0/sobjects/Lead/describe');
    const byName = new Map(d.fields.map((f) => [f.name, f]));
    expect(byName.get('Name')).toMatchObject({ type: 'string', createable: false, updateable: false });
    expect(byName.get('OwnerId')).toMatchObject({
      type: 'reference',
      referenceTo: ['Group', 'User'],
      relationshipName: 'Owner',
    });
    expect(byName.get('LastName')).toMatchObject({ nillable: false, createable: true });
    expect(byName.get('SystemModstamp')).toMatchObject({ type: 'datetime', createable: false });
  });

  it('describes force-app custom fields with help text, picklist values and types', async () => {
    const d = await h.conn.sobject('Lead').describe();
    const band = d.fields.find((f) => f.name === 'Score_Band__c');
    expect(band?.type).toBe('picklist');
    expect(band?.restrictedPicklist).toBe(true);
    expect(band?.picklistValues?.map((p) => p.value)).toEqual(['A', 'B', 'C', 'D']);
    expect(band?.inlineHelpText).toMatch(/most likely to convert/);
    expect(band?.custom).toBe(true);
    const score = d.fields.find((f) => f.name === 'Lead_Score__c');
    expect(score).toMatchObject({ type: 'double', precision: 3, scale: 0 });
    const matched = d.fields.find((f) => f.name === 'Matched_Account__c');
    expect(matched).toMatchObject({
      type: 'reference',
      referenceTo: ['Account'],
      relationshipName: 'Matched_Account__r',
    });
    const source = d.fields.find((f) => f.name === 'Source_Record_Id__c');
    expect(source).toMatchObject({ externalId: true, unique: true, idLookup: true });
  });

  it('describes the custom object with generated prefix and AutoNumber name', async () => {
    const d = await h.conn.sobject('Score_History__c').describe();
    expect(d.custom).toBe(true);
    expect(d.keyPrefix).toMatch(/^a0[0-9A-Za-z]$/);
    expect(d.fields.find((f) => f.name === 'Name')).toMatchObject({ autoNumber: true, createable: false });
    expect(d.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['Id', 'OwnerId', 'IsDeleted', 'SystemModstamp', 'Lead__c']),
    );
    const global = await h.conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name)).toEqual(
      expect.arrayContaining(['Lead', 'Account', 'User', 'Opportunity', 'Task', 'Score_History__c']),
    );
  });
});

describe('loadOrgSchema', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'force-app-'));
    cpSync(resolve(import.meta.dirname, '../../force-app/main/default'), dir, { recursive: true });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('picks up a new field file without code changes', () => {
    expect(loadOrgSchema({ forceAppDir: dir }).field('Lead', 'Churn_Risk__c')).toBeUndefined();
    writeFileSync(
      join(dir, 'objects/Lead/fields/Churn_Risk__c.field-meta.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Churn_Risk__c</fullName>
    <label>Churn Risk</label>
    <inlineHelpText>Risk of churn.</inlineHelpText>
    <precision>5</precision>
    <scale>2</scale>
    <type>Percent</type>
</CustomField>`,
    );
    const field = loadOrgSchema({ forceAppDir: dir }).field('lead', 'churn_risk__c');
    expect(field).toMatchObject({
      name: 'Churn_Risk__c',
      type: 'percent',
      precision: 5,
      scale: 2,
      inlineHelpText: 'Risk of churn.',
    });
  });
});
