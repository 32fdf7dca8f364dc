import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X_EDUCATION_LEAD_FIELDS } from '../src/fields.js';
import { isValidId18 } from '../src/ids.js';
import { convertXEducation, type XEducationManifest } from '../src/x-education.js';
import { readAll } from './helpers.js';

const CSV = join(import.meta.dirname, '../../../shared/data/x-education-leads.csv');
let root: string;
let manifest: XEducationManifest;
let leads: Record<string, unknown>[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'xed-'));
  manifest = await convertXEducation({
    csvPath: CSV,
    outDir: join(root, 'out'),
    seed: 42,
    importedAt: '2026-01-05T09:00:00Z',
  });
  leads = await readAll(join(root, 'out', 'leads.ndjson.gz'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.runIf(existsSync(CSV))('x-education mapping (real CSV)', () => {
  it('maps all 9,240 leads, 3,561 converted', () => {
    expect(leads.length).toBe(9240);
    expect(leads.filter((l) => l.IsConverted === true).length).toBe(3561);
    expect(manifest.converted).toBe(3561);
    expect(manifest.source.sha256).toBe('1426dffd94246b8c7f08d1080d9c04115a0c4b67eadcba1ed9d2fa10d3762802');
  });

  it('uses only allowed fields, valid Ids from their own range, required Salesforce fields filled', () => {
    const ids = new Set<string>();
    const bad = leads.filter((l) => {
      ids.add((l.Id as string).toLowerCase());
      return (
        Object.keys(l).some((k) => !(X_EDUCATION_LEAD_FIELDS as readonly string[]).includes(k)) ||
        !isValidId18(l.Id as string) ||
        !(l.Id as string).startsWith('00QXe') ||
        !l.LastName ||
        l.Company !== 'Individual'
      );
    });
    expect(bad).toEqual([]);
    expect(ids.size).toBe(9240);
    expect(new Set(leads.map((l) => l.Source_Record_Id__c)).size).toBe(9240);
  });

  it('maps the first data row column by column', () => {
    const first = leads[0] as Record<string, unknown>;
    expect(first).toMatchObject({
      Source_Record_Id__c: '7927b2df-8bba-4d29-b9a2-b6e0beafe620',
      Lead_Origin__c: 'API',
      LeadSource: 'Olark Chat',
      HasOptedOutOfEmail: false,
      DoNotCall: false,
      IsConverted: false,
      Status: 'Closed - Not Converted',
      Web_Visits__c: 0,
      Title: 'Unemployed',
      Industry: null, // 'Select'
      City: null, // 'Select'
      Country: null, // blank
      Data_Region__c: 'US',
    });
    const second = leads[1] as Record<string, unknown>;
    expect(second).toMatchObject({
      Web_Visits__c: 5,
      Web_Time_On_Site__c: 674,
      Web_Pages_Per_Visit__c: 2.5,
      Country: 'India',
    });
  });

  it('puts EU countries in the EU region and nothing else', () => {
    const eu = leads.filter((l) => l.Data_Region__c === 'EU');
    expect(eu.length).toBeGreaterThan(0);
    expect(new Set(eu.map((l) => l.Country))).toEqual(
      new Set(['Belgium', 'Denmark', 'France', 'Germany', 'Italy', 'Netherlands', 'Sweden']),
    );
    expect(leads.some((l) => l.Country === 'United Kingdom' && l.Data_Region__c === 'US')).toBe(true);
  });

  it('is deterministic for a seed', async () => {
    await convertXEducation({
      csvPath: CSV,
      outDir: join(root, 'again'),
      seed: 42,
      importedAt: '2026-01-05T09:00:00Z',
    });
    const a = await readFile(join(root, 'out', 'leads.ndjson.gz'));
    const b = await readFile(join(root, 'again', 'leads.ndjson.gz'));
    expect(a.equals(b)).toBe(true);
  });
});

describe('x-education malformed input', () => {
  it('names the line of a row with the wrong number of columns', async () => {
    const header = (await readFile(CSV, 'utf8')).split(/\r?\n/, 1)[0] as string;
    const good = (await readFile(CSV, 'utf8')).split(/\r?\n/)[1] as string;
    const path = join(root, 'bad.csv');
    await writeFile(path, [header, good, good.replace(/^[^,]+,/, 'x-1,'), 'broken,row', ''].join('\n'));
    await expect(
      convertXEducation({
        csvPath: path,
        outDir: join(root, 'bad'),
        seed: 1,
        importedAt: '2026-01-05T09:00:00Z',
      }),
    ).rejects.toThrow(/line 4/);
  });

  it('names the line of a row with an invalid value', async () => {
    const lines = (await readFile(CSV, 'utf8')).split(/\r?\n/);
    const badRow = (lines[2] as string).replace(',No,No,0,', ',No,Maybe,0,');
    const path = join(root, 'bad-value.csv');
    await writeFile(path, [lines[0], lines[1], badRow, ''].join('\n'));
    await expect(
      convertXEducation({
        csvPath: path,
        outDir: join(root, 'bad2'),
        seed: 1,
        importedAt: '2026-01-05T09:00:00Z',
      }),
    ).rejects.toThrow(/line 3.*Do Not Call/);
  });
});
