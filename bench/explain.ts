// Benchmark of TreeSHAP explanations: rows/s for single rows and batches, plain (LightGBM's recursion) vs fast
// (per-leaf tables), on a LightGBM model trained by training/leadrank_training/shap_fixture.py.
// Usage: npx tsx bench/explain.ts [--trees 300] [--num-leaves 63] [--features 40] [--max-depth -1]
//        [--batch-rows 4000] [--single-rows 1000] [--max-table-features 8] [--no-lightgbm]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { pino } from 'pino';
import { loadTreeExplainer, type TreeExplainer } from '../scoring-sidecar/src/explain/index.js';

const repoRoot = join(import.meta.dirname, '..');
const options = new Command()
  .option('--trees <n>', 'boosting rounds', (v) => Number(v), 300)
  .option('--num-leaves <n>', 'leaves per tree', (v) => Number(v), 63)
  .option('--features <n>', 'features', (v) => Number(v), 40)
  .option('--max-depth <n>', 'LightGBM max_depth (-1: unlimited, its default)', (v) => Number(v), -1)
  .option('--train-rows <n>', 'training rows', (v) => Number(v), 50_000)
  .option('--batch-rows <n>', 'rows per timed batch', (v) => Number(v), 4_000)
  .option('--single-rows <n>', 'rows explained one at a time', (v) => Number(v), 1_000)
  .option(
    '--max-table-features <n>',
    'fast path: per-leaf table limit (default: the explainer default)',
    (v) => Number(v),
  )
  .option('--no-lightgbm', "skip timing LightGBM's own pred_contrib for reference")
  .parse(process.argv)
  .opts() as {
  trees: number;
  numLeaves: number;
  features: number;
  maxDepth: number;
  trainRows: number;
  batchRows: number;
  singleRows: number;
  maxTableFeatures?: number;
  lightgbm: boolean;
};

const python = process.env.LEADRANK_PYTHON ?? join(repoRoot, '.venv', 'bin', 'python');
if (!existsSync(python)) throw new Error(`no Python at ${python}: set LEADRANK_PYTHON or create .venv`);

const modelDir = join(
  repoRoot,
  'var',
  'bench',
  `explain-t${options.trees}-l${options.numLeaves}-f${options.features}-d${options.maxDepth}-n${options.trainRows}`,
);
if (!existsSync(join(modelDir, 'fixture.json'))) {
  console.log(`training the model into ${modelDir} ...`);
  execFileSync(
    python,
    [
      join(repoRoot, 'training', 'leadrank_training', 'shap_fixture.py'),
      ...['--out', modelDir, '--rows', '2000', '--trees', String(options.trees)],
      ...['--num-leaves', String(options.numLeaves), '--features', String(options.features)],
      ...['--max-depth', String(options.maxDepth), '--train-rows', String(options.trainRows)],
    ],
    { stdio: 'inherit' },
  );
}

const fixture = JSON.parse(readFileSync(join(modelDir, 'fixture.json'), 'utf8')) as {
  featureNames: string[];
  rows: (number | null)[][];
};
const f = fixture.featureNames.length;
const rowAt = (i: number) => fixture.rows[i % fixture.rows.length]!;
const batch = new Float64Array(options.batchRows * f);
for (let i = 0; i < options.batchRows; i++) rowAt(i).forEach((v, j) => (batch[i * f + j] = v ?? NaN));

const logger = pino({ level: 'silent' });
const modelFile = join(modelDir, 'model.json');
const explainers: Record<'plain' | 'fast', TreeExplainer> = {
  plain: loadTreeExplainer(modelFile, { algorithm: 'plain', logger }),
  fast: loadTreeExplainer(modelFile, {
    algorithm: 'fast',
    logger,
    ...(options.maxTableFeatures === undefined ? {} : { maxTableFeatures: options.maxTableFeatures }),
  }),
};

const dump = JSON.parse(readFileSync(modelFile, 'utf8')) as { tree_info: { num_leaves: number }[] };
const depthOf = (n: { left_child?: object; right_child?: object }): number =>
  n.left_child ? 1 + Math.max(depthOf(n.left_child), depthOf(n.right_child!)) : 0;
const depths = (dump.tree_info as unknown as { tree_structure: object }[]).map((t) =>
  depthOf(t.tree_structure),
);
const leaves = dump.tree_info.map((t) => t.num_leaves);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Rows per wall second; rows per CPU second of this process go to `cpuRates` (steadier on a shared machine). */
const cpuRates: Record<string, number> = {};
function rate(label: string, rows: number, run: () => void): number {
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  run();
  const wall = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpuStart);
  cpuRates[label] = rows / ((cpuUsed.user + cpuUsed.system) / 1e6);
  return rows / wall;
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
console.log(
  `node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(
  `model: ${dump.tree_info.length} trees, ${mean(leaves).toFixed(1)} leaves/tree, depth mean ` +
    `${mean(depths).toFixed(1)} max ${Math.max(...depths)}, ${f} features`,
);

const results: Record<string, number> = {};
for (const name of ['plain', 'fast'] as const) {
  const ex = explainers[name];
  ex.explainBatch(batch, Math.min(200, options.batchRows)); // warm-up: let the JIT optimize
  const single = Math.min(options.singleRows, name === 'plain' ? 500 : options.singleRows);
  results[`single_${name}`] = rate(`single_${name}`, single, () => {
    for (let i = 0; i < single; i++) ex.explain(rowAt(i));
  });
  const rows = name === 'plain' ? Math.min(options.batchRows, 1000) : options.batchRows;
  results[`batch_${name}`] = rate(`batch_${name}`, rows, () => ex.explainBatch(batch, rows));
  console.log(
    `${name.padEnd(5)}  single row: ${results[`single_${name}`]!.toFixed(0).padStart(6)} rows/s ` +
      `(${(1000 / results[`single_${name}`]!).toFixed(2)} ms/row)   ` +
      `batch: ${results[`batch_${name}`]!.toFixed(0).padStart(6)} rows/s   ` +
      `(per CPU second: single ${cpuRates[`single_${name}`]!.toFixed(0)}, batch ${cpuRates[`batch_${name}`]!.toFixed(0)})`,
  );
}

let lightgbmRate: number | undefined;
if (options.lightgbm) {
  const script = [
    'import json, sys, time',
    'import lightgbm as lgb, numpy as np',
    'd = sys.argv[1]',
    "rows = json.load(open(d + '/fixture.json'))['rows']",
    'x = np.array([[np.nan if v is None else v for v in r] for r in rows])',
    "b = lgb.Booster(model_file=d + '/model.txt')",
    'b.predict(x[:100], pred_contrib=True, num_threads=1)',
    't = time.perf_counter(); b.predict(x, pred_contrib=True, num_threads=1)',
    'print(len(x) / (time.perf_counter() - t))',
  ].join('\n');
  lightgbmRate = Number(execFileSync(python, ['-c', script, modelDir], { encoding: 'utf8' }).trim());
  console.log(`reference: LightGBM ${'C++'} pred_contrib, 1 thread: ${lightgbmRate.toFixed(0)} rows/s`);
}
const speedup = results.batch_fast! / results.batch_plain!;
console.log(`fast/plain batch speed-up: ${speedup.toFixed(2)}x`);
console.log(
  JSON.stringify({
    bench: 'explain',
    trees: dump.tree_info.length,
    leaves_per_tree: Number(mean(leaves).toFixed(1)),
    max_depth: Math.max(...depths),
    features: f,
    rows_per_s_plain: Math.round(results.batch_plain!),
    rows_per_s_fast: Math.round(results.batch_fast!),
    rows_per_cpu_s_plain: Math.round(cpuRates.batch_plain!),
    rows_per_cpu_s_fast: Math.round(cpuRates.batch_fast!),
    single_rows_per_s_plain: Math.round(results.single_plain!),
    single_rows_per_s_fast: Math.round(results.single_fast!),
    ...(lightgbmRate === undefined ? {} : { rows_per_s_lightgbm_cpp: Math.round(lightgbmRate) }),
  }),
);
