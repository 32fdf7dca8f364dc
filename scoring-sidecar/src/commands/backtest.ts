// `leadrank model backtest`: the rolling backtest of the training code (python -m leadrank_training.backtest).
// Retrains as time moves forward (window and step as the scheduled retraining would run) and prints AUC, area
// under the cumulative gains curve and ECE per step and pooled, for the chosen model, each family, a single
// fit and the rules. Output and exit code are the Python module's.
import { Command, InvalidArgumentError } from 'commander';
import { runPythonModule } from '../model/index.js';

function positive(name: string) {
  return (value: string): string => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a positive number of days`);
    return value;
  };
}

export function backtestArgs(opts: {
  data: string;
  windowDays: string;
  stepDays: string;
  validationFraction?: string;
  selection?: string;
  params?: string;
  out?: string;
}): string[] {
  const args = ['--data', opts.data, '--window-days', opts.windowDays, '--step-days', opts.stepDays];
  if (opts.validationFraction) args.push('--validation-fraction', opts.validationFraction);
  if (opts.selection) args.push('--selection', opts.selection);
  if (opts.params) args.push('--params', opts.params);
  if (opts.out) args.push('--out', opts.out);
  return args;
}

export function registerBacktestCommands(program: Command): Command {
  // `model` is registered by the model commands; this file adds one subcommand to it.
  const model = program.commands.find((c) => c.name() === 'model') ?? program.command('model');
  model
    .command('backtest')
    .description('rolling backtest: retrain every step, compare the candidates, a single fit and the rules')
    .requiredOption('--data <dir>', 'training-set directory (contract format)')
    .requiredOption('--window-days <days>', 'days of history each retraining uses', positive('--window-days'))
    .requiredOption(
      '--step-days <days>',
      'days between retrainings (and the test period of each step)',
      positive('--step-days'),
    )
    .option('--validation-fraction <f>', 'latest share of each window used for validation (default 0.2)')
    .option('--selection <file>', 'model-selection config (default config/training/model-selection.json)')
    .option('--params <file>', 'LightGBM parameters file')
    .option('--out <file>', 'write the full JSON report here')
    .action(async (opts: Parameters<typeof backtestArgs>[0]) => {
      process.exitCode = await runPythonModule('leadrank_training.backtest', backtestArgs(opts));
    });
  return program;
}
