// `leadrank import`: a client's CSV exports into the org simulator through a mapping file and the product's
// Salesforce client (Bulk API 2.0 upsert). Bad input is refused before anything is written, naming the file,
// the line and the column; a good import is complete, and a re-run does not duplicate.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/commands/import.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';

const app = { clientId: 'import-test', clientSecret: 'import-test-secret' };
const log = pino({ level: 'silent' });
const root = fileURLToPath(new URL('../../', import.meta.url));
const xeOrg = join(root, 'config/imports/x-education-org');
const xeMapping = join(root, 'config/imports/x-education.json');
// The shared data folder sits beside the repository (../shared/data), or one level up from a worktree.
const sharedData =
  [join(root, '../shared/data'), join(root, '../../shared/data')].find((d) =>
    existsSync(join(d, 'x-education-leads.csv')),
  ) ?? join(root, '../shared/data');
let sim: RunningOrgSimulator;
let client: SalesforceClient;

const count = async (where = '') => {
  let n = 0;
  for await (const _ of client.query(`SELECT Id FROM Lead ${where}`)) n++;
  return n;
};

beforeAll(async () => {
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: log,
    schema: loadOrgSchema({ extraMetadataDirs: [xeOrg] }),
  });
  client = new SalesforceClient(
    await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app }),
    {
      log,
      poll: { intervalMs: 20, timeoutMs: 120_000 },
    },
  );
});
afterAll(async () => {
  await sim?.close();
});

function fixture(csv: string, mapping: unknown): { dir: string; mappingFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'import-'));
  writeFileSync(join(dir, 'leads.csv'), csv);
  const mappingFile = join(dir, 'mapping.json');
  writeFileSync(mappingFile, typeof mapping === 'string' ? mapping : JSON.stringify(mapping, null, 2));
  return { dir, mappingFile };
}

const baseMapping = {
  mappingVersion: 1,
  name: 't',
  objects: [
    {
      file: 'leads.csv',
      object: 'Lead',
      externalId: { column: 'Key', field: 'Source_Record_Id__c' },
      missing: ['Select'],
      constants: { LastName: 'x', Company: 'y', Data_Region__c: 'EU' },
      fields: [
        { column: 'Visits', field: 'Web_Visits__c', type: 'number' },
        { column: 'Opt Out', field: 'HasOptedOutOfEmail', type: 'boolean' },
        { column: 'Stage', field: 'Specialization__c', type: 'string' },
      ],
      outcome: {
        column: 'Won',
        positive: ['1'],
        negative: ['0'],
        field: 'Status',
        positiveValue: 'Closed - Converted',
        negativeValue: 'Open - Not Contacted',
      },
      created: { field: 'Source_Created_At__c', column: 'Created' },
    },
  ],
};
const goodCsv =
  'Key,Visits,Opt Out,Stage,Won,Created\nk1,3,No,Select,1,2025-01-02T10:00:00Z\nk2,,Yes,Finance,0,2025-01-03T10:00:00Z\n';

describe('leadrank import: bad input, nothing half-imported', () => {
  it.each([
    [
      'a mapping column the file does not have',
      (m: typeof baseMapping) => {
        m.objects[0]!.fields[0]!.column = 'Vists';
      },
      /leads\.csv:1: column "Vists" \(Lead\.Web_Visits__c in .*mapping\.json\) is not in the file's header/,
    ],
    [
      'a field the org does not have',
      (m: typeof baseMapping) => {
        m.objects[0]!.fields[0]!.field = 'Visits_Count__c';
      },
      /Lead\.Visits_Count__c does not exist in the org/,
    ],
    [
      'an object the org does not have',
      (m: typeof baseMapping) => {
        m.objects[0]!.object = 'Prospect__c';
      },
      /object Prospect__c does not exist in the org/,
    ],
    [
      'a type that does not match describe',
      (m: typeof baseMapping) => {
        m.objects[0]!.fields[1]!.type = 'number';
      },
      /Lead\.HasOptedOutOfEmail is of type boolean in the org; the mapping writes number/,
    ],
    [
      'a field that is not createable',
      (m: typeof baseMapping) => {
        m.objects[0]!.fields[2]!.field = 'SystemModstamp';
        m.objects[0]!.fields[2]!.column = 'Created';
        m.objects[0]!.fields[2]!.type = 'datetime';
      },
      /Lead\.SystemModstamp is not createable/,
    ],
  ])('refuses %s', async (_what, change, message) => {
    const m = structuredClone(baseMapping);
    change(m);
    const f = fixture(goodCsv, m);
    await expect(runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client })).rejects.toThrow(message);
    expect(await count()).toBe(0);
  });

  it('names the file, line and column of a bad cell, and writes no row of the object', async () => {
    const csv = `${goodCsv}k3,many,No,Finance,0,2025-01-04T10:00:00Z\nk4,2,Perhaps,Finance,2,2025-01-04T10:00:00Z\n`;
    const f = fixture(csv, baseMapping);
    const run = runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client });
    await expect(run).rejects.toThrow(/leads\.csv:4:2: "Visits": "many" is not a number/);
    await expect(runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client })).rejects.toThrow(
      /leads\.csv:5:3: "Opt Out": "Perhaps" is not one of[\s\S]*leads\.csv:5:5: "Won": "2" is neither/,
    );
    expect(await count()).toBe(0);
  });

  it('names the mapping file, line and field of a malformed mapping', async () => {
    const text = JSON.stringify(baseMapping, null, 2).replace('"type": "number"', '"type": "float"');
    const f = fixture(goodCsv, text);
    await expect(runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client })).rejects.toThrow(
      /mapping\.json:\d+:\d+: objects\[0\]\.fields\[0\]\.type: /,
    );
  });

  it('a dry run checks everything and writes nothing; the real run writes every row, a re-run none twice', async () => {
    const f = fixture(goodCsv, baseMapping);
    const dry = await runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client, dryRun: true });
    expect(dry).toEqual([{ object: 'Lead', file: 'leads.csv', rows: 2, written: 0, failed: [] }]);
    expect(await count()).toBe(0);
    const [report] = await runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client });
    expect(report).toMatchObject({ rows: 2, written: 2, failed: [] });
    await runImport({ mappingFile: f.mappingFile, dataDir: f.dir, client });
    expect(await count("WHERE Source_Record_Id__c IN ('k1','k2')")).toBe(2);
    const rows: Record<string, unknown>[] = [];
    for await (const r of client.query(
      "SELECT Source_Record_Id__c, Web_Visits__c, HasOptedOutOfEmail, Specialization__c, Status FROM Lead WHERE Source_Record_Id__c IN ('k1','k2') ORDER BY Source_Record_Id__c",
    ))
      rows.push(r as Record<string, unknown>);
    expect(rows.map(({ attributes: _a, ...r }) => r)).toEqual([
      {
        Source_Record_Id__c: 'k1',
        Web_Visits__c: 3,
        HasOptedOutOfEmail: false,
        Specialization__c: null,
        Status: 'Closed - Converted',
      },
      {
        Source_Record_Id__c: 'k2',
        Web_Visits__c: null,
        HasOptedOutOfEmail: true,
        Specialization__c: 'Finance',
        Status: 'Open - Not Contacted',
      },
    ]);
  });
});

describe.skipIf(!existsSync(join(sharedData, 'x-education-leads.csv')))('the X Education mapping', () => {
  it('imports all 9,240 leads of the public export with their outcome and pseudo-time', async () => {
    const [report] = await runImport({
      mappingFile: xeMapping,
      dataDir: sharedData,
      client,
      chunkRows: 5000,
    });
    expect(report).toMatchObject({ object: 'Lead', rows: 9240, written: 9240, failed: [] });
    expect(await count("WHERE Status = 'Closed - Converted' AND Lead_Number__c != null")).toBe(3561);
  }, 180_000);
});

describe('the leadrank import command', () => {
  // async: the simulator runs in this process and must keep answering while the command runs
  const cli = async (args: string[], env: Record<string, string> = {}) => {
    try {
      const { stdout } = await promisify(execFile)(
        'npx',
        ['tsx', join(root, 'scoring-sidecar/src/cli.ts'), 'import', ...args],
        { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, encoding: 'utf8' },
      );
      return { code: 0, out: stdout };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: `${e.stdout}${e.stderr.replace(/^npm warn.*\n/gm, '')}` };
    }
  };

  it('exits 2 naming the mapping file, line and field, before connecting to any org', async () => {
    const f = fixture(
      goodCsv,
      JSON.stringify(baseMapping, null, 2).replace('"object": "Lead"', '"object": 7'),
    );
    const r = await cli(['--mapping', f.mappingFile, '--data', f.dir]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/mapping\.json:\d+:\d+: objects\[0\]\.object: /);
  }, 60_000);

  it('a dry run against the org exits 0 and writes nothing', async () => {
    const f = fixture(goodCsv, baseMapping);
    const before = await count();
    const r = await cli(['--mapping', f.mappingFile, '--data', f.dir, '--dry-run'], {
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: app.clientId,
      SF_CLIENT_SECRET: app.clientSecret,
    });
    expect(r).toEqual({ code: 0, out: 'Lead (leads.csv): 2 rows checked, nothing written (dry run)\n' });
    expect(await count()).toBe(before);
  }, 60_000);
});
