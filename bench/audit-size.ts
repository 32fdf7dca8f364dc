// What the audit log costs on disk per score, measured on entries the sidecar itself writes: a synthetic model
// trained by training/ (needs LEADRANK_PYTHON), a sidecar on an in-process store, N leads scored through
// POST /v1/score, then `auditLogStats` (the code behind `leadrank audit stats`) over the log, and one signed
// checkpoint. Prints the machine, the figures, and a last JSON line.
//   npx tsx bench/audit-size.ts [--leads 20000] [--batch 100]
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
import { startServer } from '../scoring-sidecar/src/server.js';
import { seeded, syntheticLead, trainSyntheticModel } from '../scoring-sidecar/test/api-test-kit.js';

const { values: opts } = parseArgs({
  options: { leads: { type: 'string', default: '20000' }, batch: { type: 'string', default: '100' } },
});
const N = Number(opts.leads);
const BATCH = Number(opts.batch);

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

  const gbPerDayAt = (perSecond: number, bytes: number) => (perSecond * 86_400 * bytes) / 1e9;
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
    JSON.stringify({
      bench: 'audit-size',
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
