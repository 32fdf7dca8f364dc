// Batch rescoring cycle end to end: N active leads in the org simulator (on-disk SQLite), BullMQ on Redis,
// worker processes scoring and writing back through Bulk API 2.0. Runs: one worker (first cycle, then steady
// state with ~10 % material changes), two workers (full write, then steady state).
//   npx tsx bench/batch.ts --leads 2500000 [--steady-share 0.1] [--model-dir var/models/x]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { CycleModel } from '../scoring-sidecar/src/batch/cycle.js';
import { subStagesLine, type CycleReport } from '../scoring-sidecar/src/batch/report.js';
import {
  enqueueCycle,
  openBatchQueues,
  startBatchWorkers,
  waitForCycle,
} from '../scoring-sidecar/src/batch/runners.js';
import { createBatchRuntime } from '../scoring-sidecar/src/batch/runtime.js';
import { computeFeatures, encodeFeatures } from '../scoring-sidecar/src/features/index.js';
import { EventAggregates } from '../scoring-sidecar/src/inputs/index.js';
import { loadServingModel } from '../scoring-sidecar/src/scoring/model-source.js';
import { seeded, syntheticLead, trainSyntheticModel } from '../scoring-sidecar/test/api-test-kit.js';
import {
  connectTo,
  queryStore,
  repoRoot,
  seedLeads,
  spawnWorker,
  startSimulator,
  stopProcess,
} from '../scoring-sidecar/test/batch-kit.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '2500000' },
    'steady-share': { type: 'string', default: '0.1' },
    'model-dir': { type: 'string' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const N = Number.parseInt(args.leads, 10);
const STEADY = Number(args['steady-share']);
const redisUrl = args['redis-url'];
if (!Number.isSafeInteger(N) || N < 1) throw new Error('--leads must be a positive integer');

const mb = (b: number) => Math.round(b / 1024 / 1024);
const cpus = os.cpus();
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${mb(os.totalmem())} MB RAM, node ${process.version}, ${os.platform()} ${os.release()}`,
);

const work = mkdtempSync(path.join(os.tmpdir(), 'bench-batch-'));
const modelDir = args['model-dir'] ?? (await trainSyntheticModel(path.join(work, 'train'), 3000));
const serving = await loadServingModel(modelDir);
const model: CycleModel = { version: serving.version, dir: modelDir };
console.log(
  `model ${model.version}: ${serving.explainer.treeCount} trees, ${serving.onnx.spec.features.length} features`,
);

// Raw onnxruntime-node throughput on the same model and batch size, in this process.
const RAW_ROWS = 100_000;
const batchRows = 5000;
const width = serving.onnx.spec.features.length;
const rand = seeded(3);
const nowMs = Date.now();
const raw = new Float32Array(RAW_ROWS * width);
for (let r = 0; r < RAW_ROWS; r++) {
  const lead = syntheticLead(r, 'EU', nowMs, rand);
  const v = encodeFeatures(
    serving.onnx.spec,
    computeFeatures(
      serving.features,
      { lead, events: new EventAggregates(), erp: null, marketing: null },
      nowMs,
    ),
  );
  for (let c = 0; c < width; c++) raw[r * width + c] = v[c] ?? NaN;
}
let t0 = performance.now();
for (let s = 0; s < RAW_ROWS; s += batchRows)
  await serving.onnx.predict(raw.subarray(s * width, (s + batchRows) * width), batchRows);
const rawOnnxRowsPerS = Math.round(RAW_ROWS / ((performance.now() - t0) / 1000));
console.log(`raw onnxruntime-node: ${rawOnnxRowsPerS} rows/s (batches of ${batchRows}, 1 intra-op thread)`);
await serving.onnx.close();

const sim = await startSimulator({ dbFile: path.join(work, 'org.db') });
t0 = performance.now();
seedLeads(sim, N, { region: 'EU', seed: 9 });
console.log(
  `seed: ${N} EU leads in ${((performance.now() - t0) / 1000).toFixed(1)} s (not part of the figures)`,
);

/** ~share of the leads become different prospects: a material change for most of them. */
function moveLeads(share: number, seed: number): number {
  const r = seeded(seed);
  const ids = queryStore(sim, `SELECT Id FROM Lead WHERE Data_Region__c = 'EU'`).map((x) => x.Id as string);
  const chosen = ids.filter(() => r() < share);
  for (let i = 0; i < chosen.length; i += 10_000) {
    sim.ctx.store.update(
      'Lead',
      chosen.slice(i, i + 10_000).map((Id, k) => ({
        Id,
        LeadSource: k % 2 ? 'Partner Referral' : 'Purchased List',
        NumberOfEmployees: k % 2 ? 5000 : 3,
        Email: k % 2 ? 'a@acme.example' : 'b@gmail.com',
      })),
    );
  }
  return chosen.length;
}

/** Peak resident set of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return hwm ? Math.round(Number(hwm[1]) / 1024) : 0;
}

interface RunFigures {
  run: string;
  workers: number;
  report: CycleReport;
  peakRssMb: number[];
  orgApiCalls: number;
}

async function runCycles(
  workers: number,
  label: string,
  cycles: { id: string; before?: () => void; overrides?: object }[],
): Promise<RunFigures[]> {
  const keyPrefix = `lrbench-${process.pid}-${label}`;
  const out: RunFigures[] = [];
  for (const cycle of cycles) {
    cycle.before?.();
    const overrides = { ...(cycle.overrides ?? {}) };
    const rt = await createBatchRuntime({
      region: 'EU',
      rootDir: work,
      configDir: path.join(repoRoot, 'config'),
      redisUrl,
      keyPrefix,
      overrides,
      connect: () => connectTo(sim),
      featureStore: null,
      logger: pino({ level: 'warn' }),
    });
    const coordinator = startBatchWorkers(rt, { coordinator: true, tasks: false });
    const queues = openBatchQueues(rt);
    const children = Array.from({ length: workers }, () =>
      spawnWorker({
        sim,
        redisUrl,
        keyPrefix,
        rootDir: work,
        fast: false,
        overrides: { ...BENCH_QUEUE, ...overrides },
      }),
    );
    const usage0 = (await (await fetch(`${sim.url}/__admin/usage`)).json()) as { used: number };
    const cycleId = await enqueueCycle(queues, 'EU', { cycleId: cycle.id, model });
    const report = await waitForCycle(rt, cycleId, 500, 6 * 3_600_000);
    const usage1 = (await (await fetch(`${sim.url}/__admin/usage`)).json()) as { used: number };
    const rss = children.map((c) => peakRssMb(c.pid!));
    await Promise.all(children.map((c) => stopProcess(c)));
    await coordinator.close();
    await queues.close();
    await rt.close();
    const figures = {
      run: cycle.id,
      workers,
      report,
      peakRssMb: rss,
      orgApiCalls: usage1.used - usage0.used,
    };
    const s = report.stages;
    console.log(
      `${cycle.id} (${workers} worker${workers > 1 ? 's' : ''}): ${(report.durationMs / 1000).toFixed(1)} s; ` +
        `extract ${s.extract.rowsPerS} rows/s, score ${s.score.rowsPerS} rows/s per worker (inference ${s.score.inferenceRowsPerS}/s, ` +
        `explained ${report.explanations.computed} at ${report.explanations.rowsPerS}/s, reused ${report.explanations.reused}), ` +
        `write ${s.write.rowsPerS} rows/s; written ${report.leads.written}, history ${report.leads.historyWritten}; ` +
        `${report.salesforce.bulkJobs} Bulk jobs, ${report.salesforce.apiCalls} API calls (client), ${figures.orgApiCalls} (org); peak RSS ${rss.join('/')} MB`,
    );
    console.log(`  score sub-stages (rows/s of own time): ${subStagesLine(s.score.subStages)}`);
    out.push(figures);
  }
  return out;
}

const BENCH_QUEUE = {
  queue: {
    concurrency: 1,
    lockDurationMs: 60_000,
    stalledIntervalMs: 30_000,
    attempts: 10,
    backoffMs: 2000,
    coordinatorPollMs: 250,
  },
};
let seedN = 100;
try {
  const one = await runCycles(1, 'w1', [
    { id: 'EU-bench-w1-first', overrides: BENCH_QUEUE },
    {
      id: 'EU-bench-w1-steady',
      before: () => console.log(`moved ${moveLeads(STEADY, seedN++)} leads`),
      overrides: BENCH_QUEUE,
    },
  ]);
  const two = await runCycles(2, 'w2', [
    // A fresh namespace (empty explanation cache) and max age ~0: every lead explained and written, like a first cycle.
    { id: 'EU-bench-w2-full', overrides: { ...BENCH_QUEUE, materialChange: { maxAgeHours: 0.0001 } } },
    {
      id: 'EU-bench-w2-steady',
      before: () => console.log(`moved ${moveLeads(STEADY, seedN++)} leads`),
      overrides: BENCH_QUEUE,
    },
  ]);
  const head = two[0]!;
  console.log(
    JSON.stringify({
      bench: 'batch',
      leads: N,
      workers: 2,
      cycle_s: Math.round(head.report.durationMs / 100) / 10,
      written: head.report.leads.written,
      api_calls: head.orgApiCalls,
      peak_rss_mb: Math.max(...head.peakRssMb),
      score_rows_per_s: head.report.stages.score.rowsPerS,
      raw_onnx_rows_per_s: rawOnnxRowsPerS,
      inference_path_rows_per_s: head.report.stages.score.subStages.inferencePath.rowsPerS,
      explanation_rows_per_s: head.report.explanations.rowsPerS,
      reasons_actions_rows_per_s: head.report.stages.score.subStages.reasonsAndActions.rowsPerS,
      steady_score_rows_per_s: two[1]!.report.stages.score.rowsPerS,
      extract_rows_per_s: head.report.stages.extract.rowsPerS,
      first_cycle_1w_s: Math.round(one[0]!.report.durationMs / 100) / 10,
      steady_1w_s: Math.round(one[1]!.report.durationMs / 100) / 10,
      steady_2w_s: Math.round(two[1]!.report.durationMs / 100) / 10,
      steady_written: two[1]!.report.leads.written,
    }),
  );
} finally {
  await sim.close();
  rmSync(work, { recursive: true, force: true });
}
