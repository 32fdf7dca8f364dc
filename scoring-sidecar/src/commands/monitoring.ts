// `leadrank monitoring baseline --training-set <dir> --model-dir <dir>`: the drift baseline beside a model.
// `leadrank monitoring calibration [--region US] [--as-of <iso>] [--horizon-days 30]`: calibration drift of the
// scores exported one horizon ago, against the org's conversions (daily; env SF_* for the org, REGION,
// LEADRANK_STATE_DIR or LEADRANK_MONITORING_DB, LEADRANK_ROOT, LEADRANK_CONFIG_DIR).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { loadSalesforceNames, REPO_ROOT, regionStateDir } from '../config/index.js';
import {
  baselineFromTrainingSet,
  calibrationSummary,
  loadMonitoringConfig,
  Monitor,
  MonitoringHistory,
  MonitoringMetrics,
  runCalibrationJob,
  writeBaseline,
} from '../monitoring/index.js';
import { databaseUrlOf } from '../shared-state/index.js';
import { loadServingModel } from '../scoring/index.js';

/** Where the batch cycle puts its exports: config/batch.json output.exportsDir under the deployment root. */
function exportsDirOf(root: string, configDir: string): string {
  const file = join(configDir, 'batch.json');
  const configured = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { output?: { exportsDir?: string } }).output?.exportsDir
    : undefined;
  return join(root, configured ?? 'exports');
}

export function registerMonitoringCommands(program: Command): Command {
  const monitoring = program.command('monitoring').description('drift baselines and monitoring checks');
  monitoring
    .command('baseline')
    .description(
      'per-feature distributions of a training set, written as baseline-stats.json into the model dir',
    )
    .requiredOption(
      '--training-set <dir>',
      'training-set directory (training-set.parquet + feature-spec.json)',
    )
    .requiredOption('--model-dir <dir>', 'model directory trained on it')
    .action(async (opts: { trainingSet: string; modelDir: string }) => {
      // The model's scores on its training set too: prediction drift compares the served scores with them.
      const model = await loadServingModel(opts.modelDir);
      let baseline;
      try {
        baseline = await baselineFromTrainingSet(opts.trainingSet, (rows, n) => model.predict(rows, n));
      } finally {
        await model.close();
      }
      const file = await writeBaseline(opts.modelDir, baseline);
      console.log(
        `baseline of ${baseline.features.length} features and the model's score over ${baseline.rows} rows: ${file}`,
      );
    });
  monitoring
    .command('calibration')
    .description(
      'calibration by score decile of the model scores exported one horizon before --as-of, against the ' +
        "leads the org converted within the horizon; writes the region's monitoring history",
    )
    .option('--region <region>', 'US or EU (env REGION)')
    .option('--as-of <iso>', 'when the labels are read (default now)')
    .option('--horizon-days <n>', 'conversion horizon of the probability', '30')
    .option('--exports-dir <dir>', 'batch exports root (default <root>/<batch.json output.exportsDir>)')
    .action(async (opts: { region?: string; asOf?: string; horizonDays: string; exportsDir?: string }) => {
      const region = z.enum(['US', 'EU']).parse(opts.region ?? process.env.REGION);
      const asOf = opts.asOf ? new Date(opts.asOf) : new Date();
      if (Number.isNaN(asOf.getTime())) throw new Error(`--as-of ${opts.asOf} is not a date`);
      const horizonDays = z.coerce.number().int().positive().parse(opts.horizonDays);
      const root = process.env.LEADRANK_ROOT ?? REPO_ROOT;
      const configDir = process.env.LEADRANK_CONFIG_DIR ?? join(root, 'config');
      const env: Record<string, string | undefined> = { ...process.env, REGION: region };
      const historyFile = env.LEADRANK_MONITORING_DB ?? join(regionStateDir(env), 'monitoring.db');
      const databaseUrl = databaseUrlOf(env);
      if (!databaseUrl) mkdirSync(dirname(historyFile), { recursive: true });
      const history = await MonitoringHistory.open({ databaseUrl, sqliteFile: historyFile });
      try {
        const monitor = new Monitor({
          // The sidecar publishes the gauge from the history (Monitor.publishLatestCalibration).
          metrics: new MonitoringMetrics(new Registry()),
          history,
          config: loadMonitoringConfig(join(configDir, 'monitoring.json')),
          baseline: null,
        });
        const result = await runCalibrationJob(monitor, () => connectToOrg(orgAuthFromEnv()), {
          region,
          asOf,
          horizonDays,
          exportsDir: opts.exportsDir ?? exportsDirOf(root, configDir),
          bulk: { names: loadSalesforceNames(configDir) },
        });
        console.log(calibrationSummary(result));
      } finally {
        await history.close();
      }
    });
  return monitoring;
}
