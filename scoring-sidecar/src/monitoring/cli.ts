// `leadrank monitoring baseline --training-set <dir> --model-dir <dir>`: the drift baseline beside a model.
import type { Command } from 'commander';
import { baselineFromTrainingSet, writeBaseline } from './baseline.js';

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
      const baseline = await baselineFromTrainingSet(opts.trainingSet);
      const file = await writeBaseline(opts.modelDir, baseline);
      console.log(`baseline of ${baseline.features.length} features over ${baseline.rows} rows: ${file}`);
    });
  return monitoring;
}
