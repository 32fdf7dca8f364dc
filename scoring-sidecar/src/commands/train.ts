// `leadrank model train --data <dir> --out <dir> [--region US|EU] [--params <file>]`: trains a model on a training set
// (python -m leadrank_training.train: LightGBM, calibrated, exported to ONNX) into a model directory the sidecar
// serves (LEADRANK_MODEL_DIR). The Python output passes through; the last line is a JSON summary of its report.
// Residency: the set's residency.json names its region (the trainer copies it to the card, checking every row);
// --region asserts it; a pooled set, or one without residency.json, trains only with config/residency.json
// `pooledTraining`.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { REPO_ROOT } from '../config/index.js';
import { loadResidencyConfig, readTrainingSetResidency, runPythonModule } from '../model/index.js';

interface TrainReport {
  overall?: { roc_auc?: number; ece?: number };
  ceiling?: { bayes_optimal?: { roc_auc?: number } };
}

/** The figures of a trained model's report.json the operator looks at first. */
export function trainSummary(modelDir: string): Record<string, unknown> {
  const file = join(modelDir, 'report.json');
  if (!existsSync(file)) throw new Error(`training wrote no ${file}`);
  const report = JSON.parse(readFileSync(file, 'utf8')) as TrainReport;
  return {
    modelDir,
    rocAuc: report.overall?.roc_auc ?? null,
    ece: report.overall?.ece ?? null,
    ceilingRocAuc: report.ceiling?.bayes_optimal?.roc_auc ?? null,
    report: join(modelDir, 'report.md'),
  };
}

export function registerTrainCommands(program: Command): Command {
  // `model` is registered by the model commands; this file adds one subcommand to it.
  const model = program.commands.find((c) => c.name() === 'model') ?? program.command('model');
  model
    .command('train')
    .description('train, calibrate and export a model (ONNX) from a training set into a model directory')
    .requiredOption('--data <dir>', 'training-set directory (training-set.parquet + feature-spec.json)')
    .requiredOption('--out <dir>', 'model directory to write (model.onnx, model-card.json, report.json)')
    .option('--params <file>', 'training parameters (default config/training/lead-conversion.json)')
    .option('--region <region>', "US or EU: the training set must be that region's (its residency.json)")
    .action(async (opts: { data: string; out: string; params?: string; region?: string }) => {
      for (const file of ['training-set.parquet', 'feature-spec.json']) {
        if (!existsSync(join(opts.data, file)))
          throw new Error(`--data: ${opts.data} has no ${file} (build one with leadrank training-set build)`);
      }
      if (opts.region !== undefined && opts.region !== 'US' && opts.region !== 'EU')
        throw new Error(`--region must be US or EU, not ${opts.region}`);
      const residency = readTrainingSetResidency(opts.data);
      const pooling = () =>
        loadResidencyConfig(
          join(process.env.LEADRANK_CONFIG_DIR ?? join(REPO_ROOT, 'config'), 'residency.json'),
        ).pooledTraining;
      if (opts.region && residency?.region !== opts.region)
        throw new Error(
          `--region ${opts.region}: the training set in ${opts.data} is ${residency ? (residency.region ?? 'pooled') : 'of no recorded region'}; build it with leadrank training-set build --region ${opts.region}`,
        );
      if ((!residency || residency.pooled) && !pooling())
        throw new Error(
          `--data: ${opts.data} is ${residency ? 'pooled across regions' : 'of no recorded region (no residency.json)'}, and config/residency.json pooledTraining is false`,
        );
      if (opts.params && !existsSync(opts.params)) throw new Error(`--params: ${opts.params} does not exist`);
      const params = opts.params ?? join(REPO_ROOT, 'config', 'training', 'lead-conversion.json');
      const code = await runPythonModule('leadrank_training.train', [
        '--data',
        opts.data,
        '--out',
        opts.out,
        '--params',
        params,
      ]);
      if (code !== 0) throw new Error(`training failed (python exit ${code})`);
      console.log(JSON.stringify(trainSummary(opts.out)));
    });
  return model;
}
