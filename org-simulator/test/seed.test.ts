import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeId } from '../src/ids.js';
import { loadOrgSchema } from '../src/schema/index.js';
import { OrgStore } from '../src/store/org-store.js';
import { loadNdjson, SeedError, seedFromDirectory } from '../src/store/seed.js';
import { startHarness, type Harness } from './sim-harness.js';

const ndjsonGz = (rows: object[]) => gzipSync(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

describe('seeding from NDJSON.gz', () => {
  let dir: string;
  let h: Harness;
  const userId = makeId('005', 900);
  const leadIds = Array.from({ length: 25_001 }, (_, i) => makeId('00Q', 1_000_000 + i));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seed-'));
    writeFileSync(
      join(dir, 'users.ndjson.gz'),
      ndjsonGz([
        {
          Id: userId,
          Username: 'rep@example.com',
          LastName: 'Rep',
          Email: 'rep@example.com',
          Data_Region__c: 'US',
        },
      ]),
    );
    writeFileSync(
      join(dir, 'leads.ndjson.gz'),
      ndjsonGz(
        leadIds.map((Id, i) => ({
          Id,
          LastName: `L${i}`,
          Company: 'C',
          OwnerId: userId,
          IsConverted: i % 10 === 0,
          ConvertedDate: i % 10 === 0 ? '2023-06-01' : null,
          CreatedDate: '2023-01-02T03:04:05.000+0000',
          Data_Region__c: i % 2 ? 'EU' : 'US',
        })),
      ),
    );
    h = await startHarness({ seedDir: dir });
  });
  afterAll(async () => {
    await h.sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads users then leads in batches, keeping Ids and audit fields', async () => {
    expect(h.sim.seeded).toEqual({ 'users.ndjson.gz': 1, 'leads.ndjson.gz': 25_001 });
    const converted = await h.conn.query(
      `SELECT COUNT() FROM Lead WHERE IsConverted = true AND OwnerId = '${userId}'`,
    );
    expect(converted.totalSize).toBe(2501);
    const one = await h.conn.sobject('Lead').retrieve(leadIds[7] ?? '');
    expect(one).toMatchObject({
      Name: 'L7',
      CreatedDate: '2023-01-02T03:04:05.000+0000',
      Data_Region__c: 'EU',
    });
  });

  it('leaves out the files it is told to skip (the active set only, at full scale)', async () => {
    writeFileSync(
      join(dir, 'leads-historical.ndjson.gz'),
      ndjsonGz([{ Id: makeId('00Q', 5_000_000), LastName: 'Old', Company: 'C', Data_Region__c: 'US' }]),
    );
    const store = OrgStore.open({ file: ':memory:', schema: loadOrgSchema() });
    try {
      const counts = await seedFromDirectory(store, dir, { skip: ['leads-historical.ndjson.gz'] });
      expect(counts).toEqual({ 'users.ndjson.gz': 1, 'leads.ndjson.gz': 25_001 });
      expect(store.countRecords('Lead')).toBe(25_001);
    } finally {
      store.close();
      rmSync(join(dir, 'leads-historical.ndjson.gz'));
    }
  });

  it('names the file, line and field of an unknown field, and rolls back that batch', async () => {
    const store = OrgStore.open({ file: ':memory:', schema: loadOrgSchema() });
    const file = join(dir, 'bad.ndjson');
    writeFileSync(
      file,
      [
        { LastName: 'a', Company: 'c' },
        { LastName: 'b', Company: 'c', Bogus__c: 1 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const error = await loadNdjson(store, 'Lead', file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedError);
    expect(error).toMatchObject({ file, line: 2, statusCode: 'INVALID_FIELD', fields: ['Bogus__c'] });
    expect(store.countRecords('Lead')).toBe(0);
    store.close();
  });

  it('a US-only org refuses EU seed rows', async () => {
    const store = OrgStore.open({ file: ':memory:', schema: loadOrgSchema(), region: 'US' });
    const error = await loadNdjson(store, 'Lead', join(dir, 'leads.ndjson.gz')).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 'FIELD_INTEGRITY_EXCEPTION', line: 2 });
    store.close();
  });
});
