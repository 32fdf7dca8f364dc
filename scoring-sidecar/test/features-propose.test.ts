// `features propose` against the org simulator with a client's own Lead custom fields: the describe carries
// type, length, picklist values and `encrypted`; classification comes from FieldDefinition (Tooling API), as
// in Salesforce. PII, classified and encrypted fields are left out with their reason and never sampled.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithClassification, proposeFromOrg } from '../src/commands/features.js';
import { interpretSpec, parseFeatureConfig } from '../src/features/index.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';

const app = { clientId: 'propose-test', clientSecret: 'propose-test-secret' };
const log = pino({ level: 'silent' });
const clientMetadata = fileURLToPath(new URL('./fixtures/client-metadata', import.meta.url));
let sim: RunningOrgSimulator;
let client: SalesforceClient;

/** Creates Leads in the simulator through the REST composite API, all or none. */
async function insertLeads(records: Record<string, unknown>[]): Promise<void> {
  await client.request({
    method: 'POST',
    path: '/composite/sobjects',
    write: true,
    contentType: 'application/json',
    body: JSON.stringify({
      allOrNone: true,
      records: records.map((r) => ({ attributes: { type: 'Lead' }, ...r })),
    }),
  });
}

beforeAll(async () => {
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: log,
    schema: loadOrgSchema({ extraMetadataDirs: [clientMetadata] }),
  });
  client = new SalesforceClient(
    await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app }),
    { log },
  );
  const stages = ['Research', 'Evaluation', 'Purchase'];
  await insertLeads(
    Array.from({ length: 120 }, (_, i) => ({
      LastName: `L${i}`,
      Company: `C${i}`,
      Email: `p${i}@example.org`,
      Data_Region__c: 'US',
      LeadSource: ['Web', 'Partner', 'Event'][i % 3],
      Budget__c: i % 10 === 0 ? 5_000_000 : 1000 + i,
      Buying_Stage__c: stages[i % 3],
      Credit_Notes__c: `note ${i}`,
      National_Id__c: `ID${i}`,
      Private_Email__c: `me${i}@home.example`,
      Noise_Code__c: `code-${i}`,
    })),
  );
});
afterAll(async () => {
  await sim?.close();
});

describe('describe and data classification', () => {
  it('serves type, length, picklist values, encrypted, and classification from FieldDefinition', async () => {
    const fields = new Map((await describeWithClassification(client, 'Lead')).map((f) => [f.name, f]));
    expect(fields.get('Budget__c')).toMatchObject({ type: 'currency', custom: true, encrypted: false });
    expect(fields.get('Buying_Stage__c')?.picklistValues?.map((p) => p.value)).toEqual([
      'Research',
      'Evaluation',
      'Purchase',
    ]);
    expect(fields.get('Credit_Notes__c')).toMatchObject({
      type: 'string',
      length: 80,
      securityClassification: 'Confidential',
    });
    expect(fields.get('National_Id__c')).toMatchObject({ encrypted: true });
    expect(fields.get('Private_Email__c')).toMatchObject({ type: 'email', complianceGroup: 'PII;GDPR' });
    expect(fields.get('Industry')).toMatchObject({ type: 'picklist', securityClassification: null });
  });

  it('the sObject describe itself does not carry classification (as in Salesforce)', async () => {
    const d = await client.request<{ fields: Record<string, unknown>[] }>({
      method: 'GET',
      path: '/sobjects/Lead/describe',
    });
    expect(d.fields.find((f) => f.name === 'Credit_Notes__c')).not.toHaveProperty('securityClassification');
  });
});

describe('features propose', () => {
  it('uses the informative custom fields and excludes sensitive ones, each with its reason', async () => {
    const p = await proposeFromOrg(client, 'lead', 500);
    const chosen = new Map(
      p.config.features.flatMap((f) => ('field' in f.source ? [[f.source.field, f]] : [])),
    );
    expect(chosen.get('Budget__c')?.transform).toEqual({ kind: 'numeric', log: true });
    expect(chosen.get('Buying_Stage__c')?.transform).toEqual({
      kind: 'picklist',
      values: ['Research', 'Evaluation', 'Purchase'],
    });
    expect(chosen.get('LeadSource')?.transform.kind).toBe('picklist');
    expect(chosen.get('Email')?.transform).toEqual({ kind: 'free-mail' });
    const why = new Map(p.decisions.filter((d) => !d.chosen).map((d) => [d.field, d.reason]));
    expect(why.get('Credit_Notes__c')).toMatch(/classified Confidential/);
    expect(why.get('National_Id__c')).toMatch(/Shield-encrypted/);
    expect(why.get('Private_Email__c')).toMatch(/compliance group PII;GDPR/);
    expect(why.get('LastName')).toMatch(/PII/);
    expect(why.get('Phone')).toMatch(/PII/);
    expect(why.get('Noise_Code__c')).toMatch(/free text or an identifier \(120 distinct/);
    expect(why.get('Status')).toMatch(/outcome/);
    expect(why.get('Lead_Score__c')).toMatch(/own output/);
    // PII is decided from metadata: never sampled
    for (const pii of ['LastName', 'Private_Email__c', 'National_Id__c', 'Credit_Notes__c', 'Email'])
      expect(p.sampled).not.toContain(pii);
    expect(p.decisions.every((d) => d.reason.length > 0)).toBe(true);
  });

  it('writes a spec that loads, checks against the describe and interprets', async () => {
    const p = await proposeFromOrg(client, 'lead', 500);
    const file = join(mkdtempSync(join(tmpdir(), 'propose-')), 'lead-proposed.json');
    const text = `${JSON.stringify(p.config, null, 2)}\n`;
    writeFileSync(file, text);
    const describe = await describeWithClassification(client, 'Lead');
    const defs = interpretSpec(parseFeatureConfig(text, file, { describe }));
    expect(defs.map((d) => d.name)).toContain('budget');
  });

  it('refuses a classified field selected later without an override, naming it', async () => {
    const p = await proposeFromOrg(client, 'lead', 500);
    const bad = {
      ...p.config,
      features: [
        ...p.config.features,
        {
          name: 'credit_notes',
          description: 'x',
          source: { field: 'Credit_Notes__c' },
          transform: { kind: 'categorical' },
        },
      ],
    };
    const describe = await describeWithClassification(client, 'Lead');
    expect(() => parseFeatureConfig(JSON.stringify(bad, null, 2), 'spec.json', { describe })).toThrow(
      /spec\.json:\d+:\d+: features\[\d+\]\.source\.field: Credit_Notes__c is classified Confidential/,
    );
    const overridden = {
      ...bad,
      features: bad.features.map((f) =>
        f.name === 'credit_notes' ? { ...f, override: { reason: 'approved by the DPO, ticket 42' } } : f,
      ),
    };
    expect(() => parseFeatureConfig(JSON.stringify(overridden), 'spec.json', { describe })).not.toThrow();
  });
});

describe('features propose, residency', () => {
  beforeAll(async () => {
    // The EU deployment's leads: a field the US leads leave empty is filled in every one of them.
    await insertLeads(
      Array.from({ length: 40 }, (_, i) => ({
        LastName: `E${i}`,
        Company: `EC${i}`,
        Data_Region__c: 'EU',
        NumberOfEmployees: 10 + i * 37,
      })),
    );
  });

  it("samples only the deployment's own leads: the US proposal never sees the EU leads' values", async () => {
    const reasonFor = (p: Awaited<ReturnType<typeof proposeFromOrg>>, field: string) =>
      p.decisions.find((d) => d.field === field);
    const us = await proposeFromOrg(client, 'lead', 500, 'US');
    expect(reasonFor(us, 'NumberOfEmployees')).toMatchObject({ chosen: false });
    expect(reasonFor(us, 'NumberOfEmployees')!.reason).toMatch(/empty in all 120 sampled records/);
    const eu = await proposeFromOrg(client, 'lead', 500, 'EU');
    expect(reasonFor(eu, 'NumberOfEmployees')!.reason).not.toMatch(/empty in all/);
    // Without a region (a library caller), both deployments' leads are sampled: the field is not empty then.
    const all = await proposeFromOrg(client, 'lead', 500);
    expect(reasonFor(all, 'NumberOfEmployees')!.reason).not.toMatch(/empty in all/);
  });
});
