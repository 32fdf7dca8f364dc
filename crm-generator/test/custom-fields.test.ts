// `generate --custom-fields`: the same world with the client's custom fields on its leads. The informative
// fields (budget band, demo requested) enter the ground truth's η by exactly their configured effects, the noise
// fields and the personal phone do not; nothing else about a lead's drivers changes; the Bayes-optimal ceiling
// rises with the added signal.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUDGET_BANDS,
  COLOURS,
  DEFAULT_CUSTOM_FIELD_PARAMS,
  generateDataset,
  type LeadGroundTruth,
  type Manifest,
} from '../src/index.js';
import { readAll } from './helpers.js';

const base = {
  seed: 17,
  active: 150,
  historical: 1500,
  dataEnd: '2026-11-24T00:00:00Z',
  euShare: 0.3,
  historyDays: 150,
};
let plainDir: string;
let customDir: string;

beforeAll(async () => {
  plainDir = await mkdtemp(join(tmpdir(), 'gen-plain-'));
  customDir = await mkdtemp(join(tmpdir(), 'gen-custom-'));
  await generateDataset({ ...base, outDir: plainDir });
  await generateDataset({ ...base, outDir: customDir, customFields: true });
}, 120_000);
afterAll(async () => {
  await rm(plainDir, { recursive: true, force: true });
  await rm(customDir, { recursive: true, force: true });
});

const leads = async (dir: string) => [
  ...(await readAll<Record<string, unknown>>(join(dir, 'leads.ndjson.gz'))),
  ...(await readAll<Record<string, unknown>>(join(dir, 'leads-historical.ndjson.gz'))),
];
const truths = async (dir: string) =>
  new Map((await readAll<LeadGroundTruth>(join(dir, 'ground-truth.ndjson.gz'))).map((t) => [t.leadId, t]));

describe('generate --custom-fields', () => {
  it('adds the five fields, with values from their domains, and leaves the default world without them', async () => {
    const plain = await leads(plainDir);
    const custom = await leads(customDir);
    expect(plain.some((l) => 'Budget_Band__c' in l)).toBe(false);
    for (const l of custom) {
      expect(l.Budget_Band__c === null || BUDGET_BANDS.includes(l.Budget_Band__c as never)).toBe(true);
      expect(typeof l.Demo_Requested__c).toBe('boolean');
      expect(COLOURS).toContain(l.Favourite_Colour__c);
      expect(l.Lucky_Number__c).toBeGreaterThanOrEqual(0);
      expect(String(l.Personal_Mobile__c)).toMatch(/^\+1 555 \d{3} \d{4}$/);
    }
    expect(new Set(custom.map((l) => l.Budget_Band__c)).size).toBe(BUDGET_BANDS.length + 1);
  });

  it('shifts η by exactly the informative fields’ effects; the other drivers are unchanged', async () => {
    const plain = await truths(plainDir);
    const custom = await truths(customDir);
    const byId = new Map((await leads(customDir)).map((l) => [l.Id as string, l]));
    const p = DEFAULT_CUSTOM_FIELD_PARAMS;
    let compared = 0;
    for (const [id, t] of custom) {
      const before = plain.get(id);
      if (!before || before.createdAt !== t.createdAt) continue;
      const lead = byId.get(id)!;
      const { custom: drivers, ...rest } = t.drivers;
      expect(rest).toEqual(before.drivers);
      expect(drivers).toEqual({ budgetBand: lead.Budget_Band__c, demoRequested: lead.Demo_Requested__c });
      const shift =
        (lead.Budget_Band__c === null
          ? 0
          : p.budgetBandEffect[lead.Budget_Band__c as (typeof BUDGET_BANDS)[number]]) +
        (lead.Demo_Requested__c ? p.demoRequestedEffect : 0);
      expect(t.eta - before.eta).toBeCloseTo(shift, 9);
      compared++;
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('records the effects in the manifest and raises the Bayes-optimal ceiling', async () => {
    const read = async (dir: string) =>
      JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const plain = await read(plainDir);
    const custom = await read(customDir);
    expect(plain.groundTruth.params.customFields).toBeUndefined();
    expect(custom.groundTruth.params.customFields).toEqual(DEFAULT_CUSTOM_FIELD_PARAMS);
    expect(custom.groundTruth.bayesAuc).toBeGreaterThan(plain.groundTruth.bayesAuc + 0.01);
  });
});
