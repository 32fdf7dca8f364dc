// A generated org with the client's own custom fields (`generate --custom-fields`, metadata from
// crm-generator/metadata/custom-fields deployed on the simulator as a client's would be): `features propose`
// picks up the informative fields (budget band as a picklist, demo requested as a checkbox), refuses the
// personal phone from its metadata alone (never sampled) with its reason, and a spec selecting it later is
// refused naming it. The AUC lift the informative fields give is measured in bench/custom-field-lift.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUDGET_BANDS, COLOURS, CUSTOM_FIELDS_METADATA_DIR, generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithClassification, proposeFromOrg } from '../src/commands/features.js';
import { FeatureSpecError, parseFeatureConfig } from '../src/features/index.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';

const app = { clientId: 'custom-propose', clientSecret: 'custom-propose-secret' };
const log = pino({ level: 'silent' });
let root: string;
let sim: RunningOrgSimulator;
let client: SalesforceClient;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'custom-propose-'));
  await generateDataset({
    outDir: root,
    seed: 29,
    active: 100,
    historical: 600,
    dataEnd: '2026-11-24T00:00:00Z',
    euShare: 0.3,
    historyDays: 90,
    customFields: true,
  });
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: log,
    schema: loadOrgSchema({ extraMetadataDirs: [CUSTOM_FIELDS_METADATA_DIR] }),
  });
  await seedFromDirectory(sim.ctx.store, root);
  client = new SalesforceClient(
    await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app }),
    {
      log,
    },
  );
}, 120_000);
afterAll(async () => {
  await sim?.close();
  await rm(root, { recursive: true, force: true });
});

describe("features propose on a generated org with the client's custom fields", () => {
  it('chooses the informative fields, refuses the personal phone with its reason, never samples it', async () => {
    const p = await proposeFromOrg(client, 'lead', 500);
    const chosen = new Map(
      p.config.features.flatMap((f) => ('field' in f.source ? [[f.source.field, f]] : [])),
    );
    expect(chosen.get('Budget_Band__c')?.transform).toEqual({ kind: 'picklist', values: [...BUDGET_BANDS] });
    expect(chosen.get('Demo_Requested__c')?.transform).toEqual({ kind: 'boolean' });
    // Noise looks like any other field to a proposal: it is chosen, and carries no signal (the bench measures it).
    expect(chosen.get('Favourite_Colour__c')?.transform).toEqual({ kind: 'picklist', values: [...COLOURS] });
    expect(chosen.get('Lucky_Number__c')?.transform.kind).toBe('numeric');
    expect(chosen.has('Personal_Mobile__c')).toBe(false);
    const why = new Map(p.decisions.filter((d) => !d.chosen).map((d) => [d.field, d.reason]));
    expect(why.get('Personal_Mobile__c')).toBe(
      'Personal_Mobile__c is classified Confidential (SecurityClassification)',
    );
    expect(p.sampled).not.toContain('Personal_Mobile__c');
  });

  it('refuses a spec that selects the personal phone, naming the field and why', async () => {
    const describe = await describeWithClassification(client, 'Lead');
    const spec = {
      specVersion: 1,
      name: 'with-phone',
      target: 'lead',
      object: 'Lead',
      eventTypes: [],
      calendar: false,
      features: [
        {
          name: 'mobile',
          description: 'x',
          source: { field: 'Personal_Mobile__c' },
          transform: { kind: 'present' },
        },
      ],
    };
    const parse = () => parseFeatureConfig(JSON.stringify(spec, null, 2), 'with-phone.json', { describe });
    expect(parse).toThrow(FeatureSpecError);
    expect(parse).toThrow(/Personal_Mobile__c is classified Confidential/);
  });
});
