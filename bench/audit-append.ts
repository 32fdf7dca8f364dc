// Audit log write and verify throughput (docs/audit.md "Writing, batching and durability"): N entries of a
// 60-feature vector appended through `openAuditLog` in batches with several appends in flight, with
// `fsync: 'batch'` and `fsync: 'none'`, then single-entry appends (bound by fdatasync latency), then a full
// `verifyAuditLog` read. With a PostgreSQL server (--key-database, default DATABASE_URL), the batched run again
// with the subjects' keys in the database store (LEADRANK_AUDIT_KEY_STORE=postgres) in a scratch database,
// beside the directory store's run of the same session. Prints the machine, one line per run, a last JSON line.
//   npx tsx bench/audit-append.ts [--entries 100000] [--batch 200] [--in-flight 8] [--single 5000]
//     [--key-database postgres://…]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  featureHash,
  openAuditLog,
  verifyAuditLog,
  type AuditEntry,
} from '../scoring-sidecar/src/audit/index.js';

const { values: opts } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '200' },
    'in-flight': { type: 'string', default: '8' },
    single: { type: 'string', default: '5000' },
    'key-database': { type: 'string', default: process.env.DATABASE_URL ?? '' },
  },
});
const N = Number(opts.entries);
const BATCH = Number(opts.batch);
const IN_FLIGHT = Number(opts['in-flight']);
const SINGLE = Number(opts.single);

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}, Node ${process.version}, ${os.type()} ${os.release()}`;
}

function entry(n: number): AuditEntry {
  const featureVector = Array.from({ length: 60 }, (_, i) =>
    i % 7 === 0 ? null : ((n * 31 + i * 17) % 1000) / 10,
  );
  return {
    requestId: `bench-${n}`,
    caller: 'bench',
    leadId: `00Q${String(n).padStart(12, '0')}AAA`,
    region: 'US',
    modelVersion: 'bench-model',
    source: 'model',
    featureVector,
    featureHash: featureHash(featureVector, 'bench-spec'),
    score: n % 100,
    band: 'B',
    probability: 0.3,
    reasons: ['+ Visited the pricing page 3 times', '- No reply to the last email'],
    nextBestAction: 'CALL_NOW',
    scoredAt: new Date(Date.UTC(2026, 2, 10, 12, 0, n % 60)).toISOString(),
  };
}

/** Appends `count` entries in batches of `batch`, keeping `inFlight` appends pending; entries per second. */
async function appendRun(
  dir: string,
  fsync: 'batch' | 'none',
  count: number,
  batch: number,
  inFlight: number,
  env: Record<string, string | undefined> = { ...process.env, LEADRANK_AUDIT_KEY_STORE: 'directory' },
) {
  const log = await openAuditLog({ dir, region: 'US', fsync, env });
  const started = performance.now();
  const pending = new Set<Promise<unknown>>();
  for (let i = 0; i < count; i += batch) {
    const chunk = Array.from({ length: Math.min(batch, count - i) }, (_, k) => entry(i + k));
    const p = log.append(chunk).finally(() => pending.delete(p));
    pending.add(p);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
  await log.flush();
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  return Math.round(count / seconds);
}

console.log(`machine: ${machine()}`);
const work = await mkdtemp(join(os.tmpdir(), 'bench-audit-append-'));
try {
  const batched = await appendRun(join(work, 'batch'), 'batch', N, BATCH, IN_FLIGHT);
  console.log(
    `fsync batch: ${N} entries in batches of ${BATCH}, ${IN_FLIGHT} in flight: ${batched} entries/s`,
  );
  const unsynced = await appendRun(join(work, 'none'), 'none', N, BATCH, IN_FLIGHT);
  console.log(
    `fsync none:  ${N} entries in batches of ${BATCH}, ${IN_FLIGHT} in flight: ${unsynced} entries/s`,
  );
  const single = await appendRun(join(work, 'single'), 'batch', SINGLE, 1, IN_FLIGHT);
  console.log(`fsync batch: ${SINGLE} single-entry appends, ${IN_FLIGHT} in flight: ${single} entries/s`);
  let keyDb: number | null = null;
  const server = opts['key-database'].trim();
  if (server) {
    // A scratch database on that server, dropped afterwards.
    const name = `bench_audit_keys_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    try {
      keyDb = await appendRun(join(work, 'keydb'), 'batch', N, BATCH, IN_FLIGHT, {
        LEADRANK_AUDIT_KEY_STORE: 'postgres',
        LEADRANK_AUDIT_KEY_DATABASE_URL: url.toString(),
      });
      console.log(
        `fsync batch, keys in PostgreSQL: ${N} entries in batches of ${BATCH}, ${IN_FLIGHT} in flight: ${keyDb} entries/s`,
      );
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  const started = performance.now();
  const verified = await verifyAuditLog(join(work, 'batch'));
  const verifySeconds = (performance.now() - started) / 1000;
  if (!verified.ok) throw new Error('the benchmark log does not verify');
  const verifyRate = Math.round(N / verifySeconds);
  console.log(`verify: ${N} entries in ${verifySeconds.toFixed(1)} s: ${verifyRate} entries/s`);
  console.log(
    JSON.stringify({
      bench: 'audit-append',
      entries: N,
      batch: BATCH,
      in_flight: IN_FLIGHT,
      fsync_batch_entries_per_s: batched,
      fsync_none_entries_per_s: unsynced,
      single_entry_appends_per_s: single,
      fsync_batch_keys_in_postgres_entries_per_s: keyDb,
      verify_entries_per_s: verifyRate,
      load: os.loadavg()[0],
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
