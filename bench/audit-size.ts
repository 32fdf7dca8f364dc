// What the audit log costs on disk per score, measured on entries the sidecar itself writes: a synthetic model
// trained by training/ (needs LEADRANK_PYTHON), a sidecar on an in-process store, N leads scored through
// POST /v1/score, then `auditLogStats` (the code behind `leadrank audit stats`) over the log, and one signed
// checkpoint. Then the batch side: the same scores as a cycle audits them (`batchAuditEntry`: no feature names,
// origin "batch", the cycle id), packed per partition as the score task stores them and appended per partition
// to a batch chain with the default fsync, as the coordinator does; bytes per batch entry and the time a cycle
// of 2.5M leads adds. Last, the daily volume at the client's peak. Prints the machine, the figures, and a last
// JSON line.
//   npx tsx bench/audit-size.ts [--leads 20000] [--batch 100] [--partition 10000]
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  anchorAuditLog,
  generateAnchorKeyPair,
  localEd25519Signer,
  openAnchorStore,
  publicKeyFromPem,
  verifyAuditLog,
} from '../scoring-sidecar/src/audit/index.js';
import { auditLogStats } from '../scoring-sidecar/src/audit/stats.js';
import { batchAuditEntry } from '../scoring-sidecar/src/batch/audit-step.js';
import type { ScoredLead } from '../scoring-sidecar/src/batch/batch-scorer.js';
import { packJson, unpackJson } from '../scoring-sidecar/src/batch/state-store.js';
import type { AuditEntry } from '../scoring-sidecar/src/audit/index.js';
import { openAuditLog } from '../scoring-sidecar/src/audit/index.js';
import { loadRetentionConfig } from '../scoring-sidecar/src/retention/index.js';
import { startServer } from '../scoring-sidecar/src/server.js';
import { seeded, syntheticLead, trainSyntheticModel } from '../scoring-sidecar/test/api-test-kit.js';

const { values: opts } = parseArgs({
  options: {
    leads: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '100' },
    partition: { type: 'string', default: '10000' },
  },
});
const N = Number(opts.leads);
const BATCH = Number(opts.batch);
const PARTITION = Number(opts.partition); // config/batch.json extract.partitionSize
// The client's volume (issue #17): online peak and the batch's daily cycles.
const PEAK_PER_S = 3500;
const CYCLE_LEADS = 2_500_000;
const CYCLES_PER_DAY = 6;

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, load ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}, ${os.type()} ${os.release()}`;
}

const work = await mkdtemp(join(os.tmpdir(), 'bench-audit-size-'));
try {
  const modelDir = await trainSyntheticModel(work, 3000);
  const auditDir = join(work, 'audit');
  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_MODEL_DIR: modelDir,
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: 'bench',
          clientSecretSha256: createHash('sha256').update('bench-secret').digest('hex'),
          region: 'US',
          name: 'bench',
        },
      ]),
      LEADRANK_TOKEN_SIGNING_KEY: 'bench-signing-key-0123456789abcdef012345',
      LEADRANK_AUDIT_DIR: auditDir,
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(work, 'state'),
      LEADRANK_CONFIG_DIR: join(process.cwd(), 'config'),
    },
    { logger: pino({ level: 'silent' }) },
  );
  try {
    const base = `http://127.0.0.1:${started.port}`;
    const rand = seeded(5);
    const now = Date.now();
    const leads = Array.from({ length: N }, (_, i) => syntheticLead(50_000 + i, 'US', now, rand));
    await started.sidecar.store.putLeads(leads);
    const tokenRes = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=bench&client_secret=bench-secret',
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    for (let i = 0; i < N; i += BATCH) {
      const res = await fetch(`${base}/v1/score`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ leads: leads.slice(i, i + BATCH).map((l) => ({ id: l.Id })) }),
      });
      if (res.status !== 200) throw new Error(`score: HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    }
  } finally {
    await started.stop();
  }

  const stats = await auditLogStats(auditDir);
  const keys = generateAnchorKeyPair();
  const store = openAnchorStore({ auditDir, anchorDir: join(work, 'anchors') });
  const t0 = performance.now();
  await anchorAuditLog({ dir: auditDir, store, signer: localEd25519Signer(keys.privateKeyPem) });
  const anchorMs = performance.now() - t0;
  // The next run starts at the anchored line: it reads the rest of that segment, not the whole log.
  const t2 = performance.now();
  await anchorAuditLog({ dir: auditDir, store, signer: localEd25519Signer(keys.privateKeyPem) });
  const nextAnchorMs = performance.now() - t2;
  const t1 = performance.now();
  const verified = await verifyAuditLog(auditDir, {
    anchors: { store, publicKey: publicKeyFromPem(keys.publicKeyPem) },
  });
  const verifyMs = performance.now() - t1;
  if (!verified.ok) throw new Error(`verify failed: ${verified.problem?.reason}`);
  const checkpointDir = join(work, 'anchors', 'default');
  const checkpointBytes = (await readFile(join(checkpointDir, (await readdir(checkpointDir)).sort()[0]!)))
    .length;

  // The batch side: the online entries' scores as ScoredLeads, audited as a cycle audits them.
  const online: AuditEntry[] = [];
  for (const day of (await readdir(join(auditDir, 'US'))).filter((d) => /^\d{4}-/.test(d)).sort())
    for (const file of (await readdir(join(auditDir, 'US', day))).sort())
      for (const raw of (await readFile(join(auditDir, 'US', day, file), 'utf8')).split('\n')) {
        const line = raw ? (JSON.parse(raw) as { kind: string; entry?: AuditEntry }) : null;
        if (line?.kind === 'score') online.push(line.entry!);
      }
  const meta = { cycleId: 'US-20260101T000000Z', region: 'US' as const, asOf: new Date().toISOString() };
  const scored: ScoredLead[] = online.map((e) => ({
    leadId: e.leadId,
    score: e.score,
    band: e.band as ScoredLead['band'],
    probability: e.probability,
    reasonLines: e.reasons,
    nextBestAction: e.nextBestAction ?? null,
    source: e.source,
    modelVersion: e.modelVersion,
    featureHash: e.featureHash,
    vector: e.featureVector,
  }));
  const batchRoot = join(work, 'batch-audit');
  let packMs = 0;
  let appendMs = 0;
  let packedBytes = 0;
  const log = await openAuditLog({ dir: join(batchRoot, 'batch'), region: 'US' });
  for (let i = 0; i < scored.length; i += PARTITION) {
    const p0 = performance.now();
    const packed = packJson(scored.slice(i, i + PARTITION).map((s) => batchAuditEntry(s, meta)));
    packMs += performance.now() - p0;
    packedBytes += packed.length;
    const a0 = performance.now();
    await log.append(unpackJson<AuditEntry[]>(packed));
    appendMs += performance.now() - a0;
  }
  await log.close();
  const batchStats = await auditLogStats(batchRoot);
  const batchVerified = await verifyAuditLog(batchRoot);
  if (!batchVerified.ok) throw new Error(`batch chain verify failed: ${batchVerified.problem?.reason}`);
  const perEntryMs = (packMs + appendMs) / batchStats.scoreEntries;
  const keptDays = loadRetentionConfig(join(process.cwd(), 'config', 'retention.json')).days.auditSegments;
  const cycleSeconds = (perEntryMs * CYCLE_LEADS) / 1000;

  const gbPerDayAt = (perSecond: number, bytes: number) => (perSecond * 86_400 * bytes) / 1e9;
  const onlineDay = (b: number) => (PEAK_PER_S * 86_400 * b) / 1e9;
  const batchDay = (b: number) => (CYCLE_LEADS * CYCLES_PER_DAY * b) / 1e9;
  console.log(`machine: ${machine()}`);
  console.log(
    `${stats.scoreEntries} score entries (model, ${N} leads in requests of ${BATCH}) in ${stats.segments} segments`,
  );
  console.log(
    `bytes per entry: ${stats.bytesPerEntry.toFixed(0)} raw, ${stats.gzipBytesPerEntry.toFixed(0)} gzip (level 6, per segment)`,
  );
  console.log(
    `per 1,000 entries/s sustained for a day: ${gbPerDayAt(1000, stats.bytesPerEntry).toFixed(1)} GB raw, ${gbPerDayAt(1000, stats.gzipBytesPerEntry).toFixed(1)} GB gzip`,
  );
  console.log(
    `checkpoint: ${checkpointBytes} bytes per anchoring run; anchor (verify + sign) ${anchorMs.toFixed(0)} ms, verify with checkpoint ${verifyMs.toFixed(0)} ms (${((stats.scoreEntries / verifyMs) * 1000).toFixed(0)} entries/s); next anchor with nothing new (incremental) ${nextAnchorMs.toFixed(0)} ms`,
  );
  console.log(
    `batch entries: ${batchStats.scoreEntries} (as a cycle audits them, partitions of ${PARTITION}): ${batchStats.bytesPerEntry.toFixed(0)} bytes raw, ${batchStats.gzipBytesPerEntry.toFixed(0)} gzip; packed in the cycle state ${(packedBytes / batchStats.scoreEntries).toFixed(0)} bytes`,
  );
  console.log(
    `batch audit cost: pack ${packMs.toFixed(0)} ms + append (fsync per partition) ${appendMs.toFixed(0)} ms = ${((perEntryMs * 1e6) / 1000).toFixed(1)} µs per lead: ${cycleSeconds.toFixed(0)} s per cycle of ${CYCLE_LEADS.toLocaleString('en')} leads (coordinator, one core), ${((CYCLE_LEADS * batchStats.bytesPerEntry) / 1e9).toFixed(2)} GB raw per cycle`,
  );
  console.log(
    `per day at ${PEAK_PER_S} req/s sustained + ${CYCLES_PER_DAY} cycles of ${CYCLE_LEADS.toLocaleString('en')}: online ${onlineDay(stats.bytesPerEntry).toFixed(0)} GB raw / ${onlineDay(stats.gzipBytesPerEntry).toFixed(1)} GB gzip, batch ${batchDay(batchStats.bytesPerEntry).toFixed(1)} GB raw / ${batchDay(batchStats.gzipBytesPerEntry).toFixed(2)} GB gzip, total ${(onlineDay(stats.bytesPerEntry) + batchDay(batchStats.bytesPerEntry)).toFixed(0)} GB raw / ${(onlineDay(stats.gzipBytesPerEntry) + batchDay(batchStats.gzipBytesPerEntry)).toFixed(1)} GB gzip (an upper bound: the peak held all day)`,
  );
  const dayGzip = onlineDay(stats.gzipBytesPerEntry) + batchDay(batchStats.gzipBytesPerEntry);
  console.log(
    `kept ${keptDays} days (config/retention.json auditSegments) at that rate: ${((dayGzip * keptDays) / 1000).toFixed(0)} TB gzip`,
  );
  console.log(
    JSON.stringify({
      bench: 'audit-size',
      keptDays,
      keptTbGzip: Math.round((dayGzip * keptDays) / 1000),
      batchBytesPerEntry: Math.round(batchStats.bytesPerEntry),
      batchGzipBytesPerEntry: Math.round(batchStats.gzipBytesPerEntry),
      batchPackedBytesPerEntry: Math.round(packedBytes / batchStats.scoreEntries),
      batchAuditUsPerLead: Number((perEntryMs * 1000).toFixed(1)),
      batchAuditSecondsPerCycle: Math.round(cycleSeconds),
      gbPerDayPeakOnlineRaw: Math.round(onlineDay(stats.bytesPerEntry)),
      gbPerDayPeakOnlineGzip: Number(onlineDay(stats.gzipBytesPerEntry).toFixed(1)),
      gbPerDayBatchRaw: Number(batchDay(batchStats.bytesPerEntry).toFixed(1)),
      gbPerDayBatchGzip: Number(batchDay(batchStats.gzipBytesPerEntry).toFixed(2)),
      entries: stats.scoreEntries,
      bytesPerEntry: Math.round(stats.bytesPerEntry),
      gzipBytesPerEntry: Math.round(stats.gzipBytesPerEntry),
      gbPerDayPer1000PerSecondRaw: Number(gbPerDayAt(1000, stats.bytesPerEntry).toFixed(2)),
      gbPerDayPer1000PerSecondGzip: Number(gbPerDayAt(1000, stats.gzipBytesPerEntry).toFixed(2)),
      checkpointBytes,
      anchorMs: Math.round(anchorMs),
      nextAnchorMs: Math.round(nextAnchorMs),
      verifyMs: Math.round(verifyMs),
    }),
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
