// `leadrank import` with related objects: Account, then Opportunity (standard lookup AccountId) and Lead (a custom
// lookup, Parent_Account__c) linked by the Account's external id, through the product's Salesforce client
// (Bulk API 2.0 relationship columns) against the org simulator. Unknown keys are refused before anything is
// written, naming the CSV file, line and column; a re-run links the same records and duplicates nothing.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/commands/import.js';
import { SalesforceClient, connectToOrg } from '../src/salesforce/index.js';

const app = { clientId: 'import-related-test', clientSecret: 'import-related-secret' };
const log = pino({ level: 'silent' });
let sim: RunningOrgSimulator;
let client: SalesforceClient;

/** The client's own fields: source keys on Account and Opportunity, and a lookup from Lead to Account. */
function clientMetadata(): string {
  const dir = mkdtempSync(join(tmpdir(), 'import-related-org-'));
  const field = (object: string, name: string, body: string) => {
    mkdirSync(join(dir, 'objects', object, 'fields'), { recursive: true });
    writeFileSync(
      join(dir, 'objects', object, 'fields', `${name}.field-meta.xml`),
      `<?xml version="1.0" encoding="UTF-8" ?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n<fullName>${name}</fullName>\n${body}\n</CustomField>\n`,
    );
  };
  const key =
    '<externalId>true</externalId><label>Source Record Id</label><length>64</length><type>Text</type><unique>true</unique>';
  field('Account', 'Source_Record_Id__c', key);
  field('Opportunity', 'Source_Record_Id__c', key);
  field(
    'Lead',
    'Parent_Account__c',
    '<label>Parent Account</label><referenceTo>Account</referenceTo><relationshipName>Child_Leads</relationshipName><type>Lookup</type>',
  );
  return dir;
}

beforeAll(async () => {
  sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: log,
    schema: loadOrgSchema({ extraMetadataDirs: [clientMetadata()] }),
  });
  client = new SalesforceClient(
    await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app }),
    { log, poll: { intervalMs: 20, timeoutMs: 120_000 } },
  );
});
afterAll(async () => {
  await sim?.close();
});

const accountsObject = {
  file: 'accounts.csv',
  object: 'Account',
  externalId: { column: 'Account Key', field: 'Source_Record_Id__c' },
  constants: { Data_Region__c: 'US' },
  fields: [
    { column: 'Account Name', field: 'Name', type: 'string' },
    { column: 'Employees', field: 'NumberOfEmployees', type: 'integer' },
  ],
};
const accountRef = { object: 'Account', externalId: 'Source_Record_Id__c' };
const opportunitiesObject = {
  file: 'opportunities.csv',
  object: 'Opportunity',
  externalId: { column: 'Deal Key', field: 'Source_Record_Id__c' },
  constants: { StageName: 'Prospecting', Data_Region__c: 'US' },
  fields: [
    { column: 'Deal', field: 'Name', type: 'string' },
    { column: 'Account Key', field: 'AccountId', reference: accountRef },
    { column: 'Close', field: 'CloseDate', type: 'date' },
  ],
};
const leadsObject = {
  file: 'leads.csv',
  object: 'Lead',
  externalId: { column: 'Lead Key', field: 'Source_Record_Id__c' },
  constants: { Company: 'c', Data_Region__c: 'US' },
  fields: [
    { column: 'Name', field: 'LastName', type: 'string' },
    { column: 'Account', field: 'Parent_Account__c', reference: accountRef },
  ],
};
const mappingOf = (...objects: unknown[]) => ({ mappingVersion: 1, name: 'related', objects });

const files = {
  'accounts.csv': 'Account Key,Account Name,Employees\nA1,Acme,120\nA2,Globex,40\n',
  'opportunities.csv':
    'Deal Key,Deal,Account Key,Close\nO1,Acme renewal,A1,2026-03-01\nO2,Globex pilot,A2,2026-04-01\nO3,No account yet,,2026-05-01\n',
  'leads.csv': 'Lead Key,Name,Account\nL1,Doe,A2\nL2,Roe,\n',
};

function fixture(mapping: unknown, overrides: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'import-related-'));
  for (const [name, text] of Object.entries({ ...files, ...overrides })) writeFileSync(join(dir, name), text);
  const mappingFile = join(dir, 'mapping.json');
  writeFileSync(mappingFile, typeof mapping === 'string' ? mapping : JSON.stringify(mapping, null, 2));
  return { dataDir: dir, mappingFile, client };
}

/** Query rows without `attributes` (nested parents too). */
async function rows(soql: string): Promise<Record<string, unknown>[]> {
  const plain = (r: unknown): unknown =>
    r && typeof r === 'object'
      ? Object.fromEntries(
          Object.entries(r)
            .filter(([k]) => k !== 'attributes')
            .map(([k, v]) => [k, plain(v)]),
        )
      : r;
  const out: Record<string, unknown>[] = [];
  for await (const r of client.query(soql)) out.push(plain(r) as Record<string, unknown>);
  return out;
}
const counts = async () => ({
  accounts: (await rows('SELECT Id FROM Account')).length,
  opportunities: (await rows('SELECT Id FROM Opportunity')).length,
  leads: (await rows('SELECT Id FROM Lead')).length,
});

describe('leadrank import: related objects by external key', () => {
  it('refuses a mapping whose reference does not fit the org, naming the mapping file, line and path', async () => {
    const cases: [(m: ReturnType<typeof structuredClone<typeof opportunitiesObject>>) => void, RegExp][] = [
      [
        (o) => void (o.fields[1]!.field = 'Description'),
        /mapping\.json:\d+:\d+: objects\[1\]\.fields\[1\]\.reference\.object: Opportunity\.Description is not a lookup to Account in the org \(textarea\)/,
      ],
      [
        (o) => void (o.fields[1]!.reference = { object: 'Account', externalId: 'Name' }),
        /mapping\.json:\d+:\d+: objects\[1\]\.fields\[1\]\.reference\.externalId: Account\.Name is not an external id field in the org/,
      ],
      [
        (o) => void (o.fields[1]!.reference = { object: 'Account', externalId: 'Account_Key__c' }),
        /objects\[1\]\.fields\[1\]\.reference\.externalId: Account\.Account_Key__c does not exist in the org/,
      ],
      [
        (o) => void (o.fields[1]!.reference = { object: 'Lead', externalId: 'Source_Record_Id__c' }),
        /objects\[1\]\.fields\[1\]\.reference\.object: Opportunity\.AccountId is not a lookup to Lead in the org \(reference to Account\)/,
      ],
    ];
    for (const [change, message] of cases) {
      const o = structuredClone(opportunitiesObject);
      change(o);
      await expect(runImport({ ...fixture(mappingOf(accountsObject, o)), dryRun: true })).rejects.toThrow(
        message,
      );
    }
    // Order and shape are mapping rules, refused before the org is asked.
    await expect(
      runImport({ ...fixture(mappingOf(opportunitiesObject, accountsObject)), dryRun: true }),
    ).rejects.toThrow(
      /mapping\.json:\d+:\d+: objects\[0\]\.fields\[1\]\.reference\.object: Account is imported after Opportunity \(objects\[1\]\): list it first/,
    );
    await expect(
      runImport({ ...fixture(mappingOf({ ...leadsObject, object: 'LeadHistory' })), dryRun: true }),
    ).rejects.toThrow(
      /mapping\.json:\d+:\d+: objects\[0\]\.object: LeadHistory is written by the org, not imported: map the outcome's date column to a date field/,
    );
    const noType = structuredClone(accountsObject) as { fields: Record<string, unknown>[] };
    delete noType.fields[0]!.type;
    await expect(runImport({ ...fixture(mappingOf(noType)), dryRun: true })).rejects.toThrow(
      /mapping\.json:\d+:\d+: objects\[0\]\.fields\[0\]: a "type" is required \(or a "reference"\)/,
    );
    expect(await counts()).toEqual({ accounts: 0, opportunities: 0, leads: 0 });
  });

  it('a key that matches no record is a row error naming the CSV file, line and column; nothing is written', async () => {
    const f = fixture(mappingOf(accountsObject, opportunitiesObject, leadsObject), {
      'opportunities.csv': `${files['opportunities.csv']}O4,Initech,A9,2026-06-01\n`,
      'leads.csv': "Lead Key,Name,Account\nL1,Doe,A2\nL2,Roe,O'Brien\n",
    });
    const error = await runImport({ ...f, dryRun: true }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(error).toBe(
      [
        'nothing imported: 2 problem(s)',
        'opportunities.csv:5:3: "Account Key": no Account with Source_Record_Id__c "A9" in this import or the org',
        `leads.csv:3:3: "Account": no Account with Source_Record_Id__c "O'Brien" in this import or the org`,
      ].join('\n'),
    );
    await expect(runImport(f)).rejects.toThrow(/opportunities\.csv:5:3: "Account Key": no Account/);
    expect(await counts()).toEqual({ accounts: 0, opportunities: 0, leads: 0 });
  });

  it('dry run writes nothing; the import links Opportunity and Lead to their Account; a re-run changes nothing', async () => {
    const f = fixture(mappingOf(accountsObject, opportunitiesObject, leadsObject));
    const dry = await runImport({ ...f, dryRun: true });
    expect(dry.map((r) => [r.object, r.rows, r.written])).toEqual([
      ['Account', 2, 0],
      ['Opportunity', 3, 0],
      ['Lead', 2, 0],
    ]);
    expect(await counts()).toEqual({ accounts: 0, opportunities: 0, leads: 0 });

    const linked = async () => ({
      accounts: await rows('SELECT Id, Source_Record_Id__c FROM Account ORDER BY Source_Record_Id__c'),
      opportunities: await rows(
        'SELECT Source_Record_Id__c, AccountId, Account.Name FROM Opportunity ORDER BY Source_Record_Id__c',
      ),
      leads: await rows(
        'SELECT Source_Record_Id__c, Parent_Account__c FROM Lead ORDER BY Source_Record_Id__c',
      ),
    });
    for (const run of [1, 2]) {
      const reports = await runImport(f);
      expect(
        reports.map((r) => [r.object, r.written, r.failed]),
        `run ${run}`,
      ).toEqual([
        ['Account', 2, []],
        ['Opportunity', 3, []],
        ['Lead', 2, []],
      ]);
      const { accounts, opportunities, leads } = await linked();
      const idOf = new Map(accounts.map((a) => [a.Source_Record_Id__c, a.Id]));
      expect(accounts).toHaveLength(2);
      expect(opportunities).toEqual([
        { Source_Record_Id__c: 'O1', AccountId: idOf.get('A1'), Account: { Name: 'Acme' } },
        { Source_Record_Id__c: 'O2', AccountId: idOf.get('A2'), Account: { Name: 'Globex' } },
        { Source_Record_Id__c: 'O3', AccountId: null, Account: null },
      ]);
      expect(leads).toEqual([
        { Source_Record_Id__c: 'L1', Parent_Account__c: idOf.get('A2') },
        { Source_Record_Id__c: 'L2', Parent_Account__c: null },
      ]);
    }

    // A later export of deals alone links to accounts already in the org.
    const later = fixture(mappingOf(opportunitiesObject), {
      'opportunities.csv': 'Deal Key,Deal,Account Key,Close\nO5,Acme upsell,A1,2026-07-01\n',
    });
    expect((await runImport(later))[0]).toMatchObject({ written: 1, failed: [] });
    const [o5] = await rows(
      "SELECT Account.Source_Record_Id__c FROM Opportunity WHERE Source_Record_Id__c = 'O5'",
    );
    expect(o5).toEqual({ Account: { Source_Record_Id__c: 'A1' } });
  });

  it('an account the org refuses leaves its deals refused by the Bulk failed results, by CSV line', async () => {
    const f = fixture(mappingOf(accountsObject, opportunitiesObject), {
      'accounts.csv': 'Account Key,Account Name,Employees\nA7,Huge,1000000000\n',
      'opportunities.csv': 'Deal Key,Deal,Account Key,Close\nO7,Huge deal,A7,2026-03-01\n',
    });
    const [accounts, opportunities] = await runImport(f);
    expect(accounts!.failed).toEqual([
      { line: 2, key: 'A7', message: expect.stringMatching(/^NUMBER_OUTSIDE_VALID_RANGE: /) as string },
    ]);
    expect(opportunities!.failed).toEqual([
      {
        line: 2,
        key: 'O7',
        message:
          'INVALID_FIELD: Foreign key external ID: A7 not found for field Source_Record_Id__c in entity Account',
      },
    ]);
  });
});
