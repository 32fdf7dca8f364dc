// The opportunity-win model on generated deals: generate an org (the crm-generator's deals carry a known
// signal: existing customers, referrals, target industries and account size win more), seed the org
// simulator, build the US won-among-closed training set with the product's command code (`leadrank opportunities
// training-set --region US`), train it with `leadrank model train --region US` (a pooled set is refused since
// residency) and print the test ROC-AUC. Prints the machine, the figures, and a last JSON line.
// Run: `npx tsx bench/opportunity-model.ts [--historical 20000] [--seed 5]` (LEADRANK_PYTHON for training).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { buildOpportunityTrainingSet } from '../scoring-sidecar/src/commands/opportunities.js';

const { values } = parseArgs({
  options: { historical: { type: 'string', default: '20000' }, seed: { type: 'string', default: '5' } },
});
const repo = join(import.meta.dirname, '..');
const log = pino({ level: 'silent' });
const machine = () => {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, load ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`;
};

const root = await mkdtemp(join(os.tmpdir(), 'opportunity-model-'));
try {
  const started = Date.now();
  await generateDataset({
    outDir: root,
    seed: Number(values.seed),
    active: 500,
    historical: Number(values.historical),
    dataEnd: '2026-11-24T00:00:00Z',
    euShare: 0.3,
    historyDays: 365,
  });
  const app = { clientId: 'bench', clientSecret: 'bench-secret' };
  const sim = await startOrgSimulator({ port: 0, clients: [app], logger: log });
  await seedFromDirectory(sim.ctx.store, root);
  const env = { SF_LOGIN_URL: sim.url, SF_CLIENT_ID: app.clientId, SF_CLIENT_SECRET: app.clientSecret };
  const region = 'US';
  const set = await buildOpportunityTrainingSet(env, log, join(root, 'training-set'), region);
  await sim.close();
  const modelDir = join(root, 'model');
  await promisify(execFile)(
    'npx',
    [
      'tsx',
      join(repo, 'scoring-sidecar/src/cli.ts'),
      'model',
      'train',
      '--data',
      join(root, 'training-set'),
      '--out',
      modelDir,
      '--params',
      join(repo, 'config/training/opportunity-win.json'),
      '--region',
      region,
    ],
    { cwd: repo, maxBuffer: 64 * 1024 * 1024 },
  );
  const card = JSON.parse(await readFile(join(modelDir, 'model_card.json'), 'utf8')) as {
    metrics?: { test?: { roc_auc?: number; ece?: number } };
    family?: string;
  };
  const result = {
    region,
    closedDeals: set.rows,
    won: set.won,
    testRocAuc: card.metrics?.test?.roc_auc ?? null,
    testEce: card.metrics?.test?.ece ?? null,
    seconds: (Date.now() - started) / 1000,
  };
  console.log(`machine: ${machine()} (measured under load)`);
  console.log(
    `${region} closed deals ${result.closedDeals} (won ${result.won}), test ROC-AUC ${result.testRocAuc}`,
  );
  console.log(JSON.stringify(result));
} finally {
  await rm(root, { recursive: true, force: true });
}
