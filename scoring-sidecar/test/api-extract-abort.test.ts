// An extract upload the client aborts half-way releases its spool file and its file handle: the spool
// directory is removed and no descriptor of this process points into it (counted in /proc/self/fd).
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/server.js';

const SECRET = 'abort-secret';
const CLIENTS = JSON.stringify([
  {
    clientId: 'etl-us',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'US',
    name: 'ETL',
  },
]);

let spoolRoot: string;
let stateDir: string;
let previousTmp: string | undefined;
let port: number;
let token: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  // The spool goes to os.tmpdir(): a private one, so other tests' uploads are not counted.
  spoolRoot = await mkdtemp(join(tmpdir(), 'extract-abort-spool-'));
  stateDir = await mkdtemp(join(tmpdir(), 'extract-abort-state-'));
  previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = spoolRoot;
  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_RULES_ONLY: '1',
      LEADRANK_MODEL_DIR: join(stateDir, 'no-model'),
      LEADRANK_CLIENTS: CLIENTS,
      LEADRANK_TOKEN_SIGNING_KEY: 'abort-signing-key-0123456789abcdef012345',
      LEADRANK_AUDIT_DIR: join(stateDir, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: stateDir,
    },
    { logger: pino({ level: 'silent' }) },
  );
  port = started.port;
  stop = started.stop;
  const res = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=etl-us&client_secret=${SECRET}`,
  });
  token = ((await res.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await stop?.();
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  await rm(spoolRoot, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
});

async function spoolDirs(): Promise<string[]> {
  return (await readdir(spoolRoot)).filter((n) => n.startsWith('leadrank-extract-'));
}

async function spoolHandles(): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(spoolRoot)) n++;
  }
  return n;
}

/** Sends the header and `rows` valid rows of a CSV extract, waits until the server spooled them, then aborts. */
async function abortedUpload(rows: number, kind: 'csv' | 'ndjson'): Promise<void> {
  const today = new Date().toISOString().slice(0, 10);
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/extracts/erp',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': kind === 'csv' ? 'text/csv' : 'application/x-ndjson',
      'transfer-encoding': 'chunked',
    },
  });
  req.on('error', () => {}); // the abort below
  // By name, not count: an earlier abort's directory may still be going away while this one appears.
  const before = new Set(await spoolDirs());
  const started = async () => (await spoolDirs()).some((d) => !before.has(d));
  if (kind === 'csv')
    req.write(
      'erp_account_number,region,extract_date,is_customer,erp_revenue,products_held,payment_status\n',
    );
  for (let i = 0; i < rows; i++) {
    req.write(
      kind === 'csv'
        ? `ERP-${i},US,${today},true,125000,3,current\n`
        : `${JSON.stringify({ erp_account_number: `ERP-${i}`, region: 'US', extract_date: today, is_customer: true, erp_revenue: 125000, products_held: 3, payment_status: 'current' })}\n`,
    );
  }
  // The server has started spooling once its spool directory exists.
  for (let i = 0; i < 200 && !(await started()); i++) await sleep(25);
  expect(await started()).toBe(true);
  req.destroy();
}

describe('an aborted extract upload', () => {
  it('releases its spool files and handles (CSV and NDJSON, several aborts)', async () => {
    for (const kind of ['csv', 'ndjson', 'csv'] as const) await abortedUpload(2000, kind);
    let dirs = await spoolDirs();
    let handles = await spoolHandles();
    for (let i = 0; i < 100 && (dirs.length > 0 || handles > 0); i++) {
      await sleep(50);
      dirs = await spoolDirs();
      handles = await spoolHandles();
    }
    expect(dirs).toEqual([]);
    expect(handles).toBe(0);

    // The endpoint still works after the aborts.
    const today = new Date().toISOString().slice(0, 10);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/extracts/erp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: `erp_account_number,region,extract_date,is_customer,erp_revenue,products_held,payment_status\nERP-1,US,${today},true,125000,3,current\n`,
    });
    expect(ok.status).toBe(200);
    expect(await spoolDirs()).toEqual([]);
  });
});
