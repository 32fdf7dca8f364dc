// Training-set build rate and model quality against the generator's Bayes-optimal ceiling.
//   npx tsx bench/model-quality.ts --leads 200000 [--active-share 0.2] [--seed 42]
// Generates a CRM (kept under var/bench/model-quality/<leads>), loads it into an org simulator on disk,
// builds the point-in-time training set through the sidecar's client, trains with the Python pipeline, and
// prints figures, the machine, and a last JSON line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { buildFromOrg } from '../scoring-sidecar/src/commands/build-training-set.js';
import { connectToOrg } from '../scoring-sidecar/src/salesforce/org-connection.js';
import { trainingCommand } from '../scoring-sidecar/src/model/python.js';

const repoRoot = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    leads: { type: 'string', default: '200000' },
    'active-share': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '42' },
  },
});
const leads = Number(values.leads);
const active = Math.round(leads * Number(values['active-share']));
const dir = join(repoRoot, 'var', 'bench', 'model-quality', String(leads));
const dataDir = join(dir, 'data');

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const seconds = (since: number) => (Date.now() - since) / 1000;

console.log(
  `machine: ${cpus()[0]?.model} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
);
if (!existsSync(join(dataDir, 'manifest.json'))) {
  const gen = spawnSync(
    join(repoRoot, 'node_modules', '.bin', 'tsx'),
    [
      'crm-generator/src/cli.ts',
      'generate',
      '--out',
      dataDir,
      '--seed',
      values.seed!,
      '--active',
      String(active),
      '--historical',
      String(leads - active),
    ],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  if (gen.status !== 0) throw new Error('generation failed');
}
const manifest = JSON.parse(readFileSync(join(dataDir, 'manifest.json'), 'utf8')) as { dataEnd: string };

const dbFile = join(dir, 'org.db');
for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
const app = { clientId: 'bench', clientSecret: 'bench-secret-local-only' };
const sim = await startOrgSimulator({ port: 0, dbFile, clients: [app], logger: pino({ level: 'warn' }) });
let t = Date.now();
await seedFromDirectory(sim.ctx.store, dataDir);
console.log(`seeded the org simulator in ${seconds(t).toFixed(1)} s`);

const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
const trainingDir = join(dir, 'training-set');
t = Date.now();
const built = await buildFromOrg(conn, {
  out: trainingDir,
  events: join(dataDir, 'events.ndjson.gz'),
  extracts: join(dataDir, 'extracts'),
  dataEnd: new Date(manifest.dataEnd),
  groundTruth: dataDir,
});
const buildSeconds = seconds(t);
await sim.close();
clearInterval(sampler);
console.log(
  `training set: ${built.snapshots} snapshots, ${built.positives} positives in ${buildSeconds.toFixed(1)} s`,
);

const modelDir = join(dir, 'model');
t = Date.now();
const train = trainingCommand(trainingDir, modelDir);
// GNU time reports the trainer's peak RSS (KB) as the last line of stderr.
const res = spawnSync('/usr/bin/time', ['-f', '%M', train.command, ...train.args], {
  cwd: train.cwd,
  env: train.env,
  encoding: 'utf8',
});
if (res.status !== 0) throw new Error(`training failed: ${res.stderr}`);
const trainSeconds = seconds(t);
const trainPeakMb = Math.round(Number(res.stderr.trim().split('\n').at(-1)) / 1024);
const report = JSON.parse(readFileSync(join(modelDir, 'report.json'), 'utf8'));
const figures = {
  bench: 'model-quality',
  leads,
  snapshots: built.snapshots,
  build_snapshots_per_s: Math.round(built.snapshots / buildSeconds),
  build_peak_rss_mb: Math.round(peakRss / 2 ** 20),
  train_s: Math.round(trainSeconds),
  train_peak_rss_mb: trainPeakMb,
  test_roc_auc: report.overall.roc_auc,
  ceiling_roc_auc: report.ceiling?.bayes_optimal?.roc_auc ?? null,
  test_ece: report.overall.ece,
};
console.log(JSON.stringify(figures));
