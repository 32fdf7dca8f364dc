// `leadrank model train --data <dir> --out <dir> [--region US|EU] [--params <file>]`: trains a model on a training set
// (python -m leadrank_training.train: LightGBM, calibrated, exported to ONNX) into a model directory the sidecar
// serves (LEADRANK_MODEL_DIR). The Python output passes through; the last line is a JSON summary of its report.
// Residency: the set's residency.json names its region (the trainer copies it to the card, checking every row);
// --region asserts it; a pooled set, or one without residency.json, trains only with config/residency.json
// `pooledTraining`.
// Targets: the set's feature spec says what it learns (a lead or a deal training set: `leadrank opportunities
// training-set`); `--target` (an option of `leadrank model`) asserts it, and a deal set trains with
// config/training/opportunity-win.json unless --params says otherwise. `--register <alias>` then copies the
// model into the registry of its target (deal models in targets/opportunity/) and of its region
// (regions/<region>/: --region, else the set's residency; the root for a pooled model) and points the alias at it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { REPO_ROOT } from '../config/index.js';
import { readFeatureSpec, specTarget } from '../features/index.js';
import {
  ALIASES,
  loadResidencyConfig,
  ModelRegistry,
  pythonModuleOutput,
  readTrainingSetResidency,
  runPythonModule,
  TARGETS,
} from '../model/index.js';

const PARAMS = {
  lead: join(REPO_ROOT, 'config', 'training', 'lead-conversion.json'),
  opportunity: join(REPO_ROOT, 'config', 'training', 'opportunity-win.json'),
} as const;

/** The Python CLI's refusal line of a failed registry command, else the error. */
function refusal(err: unknown): string {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '');
  return stderr.split('\n').find((l) => l.startsWith('refused:')) ?? (err as Error).message;
}

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

interface TrainOptions {
  data: string;
  out: string;
  params?: string;
  region?: string;
  register?: string;
}

export function registerTrainCommands(program: Command): Command {
  // `model` is registered by the model commands; this file adds one subcommand to it.
  const model = program.commands.find((c) => c.name() === 'model') ?? program.command('model');
  model
    .command('train')
    .description('train, calibrate and export a model (ONNX) from a training set into a model directory')
    .requiredOption('--data <dir>', 'training-set directory (training-set.parquet + feature-spec.json)')
    .requiredOption('--out <dir>', 'model directory to write (model.onnx, model-card.json, report.json)')
    .option(
      '--params <file>',
      'training parameters (default config/training/lead-conversion.json; opportunity-win.json for a deal set)',
    )
    .option('--region <region>', "US or EU: the training set must be that region's (its residency.json)")
    .option(
      '--register <alias>',
      "then register the model in its target's registry (--registry; the training set's region's, regions/<region>/, unless pooled) and point this alias at it (challenger or champion)",
    )
    .action(async (opts: TrainOptions, cmd: Command) => {
      // --region is also an option of `leadrank model` (the registry of list, show, promote, rollback), which
      // takes it when both are registered.
      const globals = cmd.optsWithGlobals<{ target?: string; registry?: string; region?: string }>();
      opts.region ??= globals.region;
      for (const file of ['training-set.parquet', 'feature-spec.json']) {
        if (!existsSync(join(opts.data, file)))
          throw new Error(`--data: ${opts.data} has no ${file} (build one with leadrank training-set build)`);
      }
      if (globals.target !== undefined && !(TARGETS as readonly string[]).includes(globals.target))
        throw new Error(`--target must be one of ${TARGETS.join(', ')}, not ${globals.target}`);
      if (opts.register !== undefined && !(ALIASES as readonly string[]).includes(opts.register))
        throw new Error(`--register must name an alias (${ALIASES.join(' or ')}), not ${opts.register}`);
      const spec = await readFeatureSpec(opts.data);
      const target = specTarget(spec);
      if (globals.target !== undefined && globals.target !== target)
        throw new Error(
          `--target ${globals.target}: the training set in ${opts.data} is ${target === 'opportunity' ? 'an' : 'a'} ${target} training set (spec ${spec.name})` +
            (globals.target === 'opportunity' ? '; build one with leadrank opportunities training-set' : ''),
        );
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
      const params = opts.params ?? PARAMS[target];
      const code = await runPythonModule('leadrank_training.train', [
        '--data',
        opts.data,
        '--out',
        opts.out,
        '--params',
        params,
      ]);
      if (code !== 0) throw new Error(`training failed (python exit ${code})`);
      const summary = { target, ...trainSummary(opts.out) };
      if (opts.register) {
        // The model's region's registry (regions/<region>/, which that region's deployment serves): --region,
        // else the set's own region; a pooled model (pooledTraining) goes to the root, which every region reads
        // while it has no registry of its own.
        const registerRegion = opts.region ?? (residency?.pooled ? null : (residency?.region ?? null));
        const args = [
          ...(globals.registry ? ['--registry', globals.registry] : []),
          ...(registerRegion ? ['--region', registerRegion] : []),
          '--target',
          target,
          'register',
          opts.out,
          '--alias',
          opts.register,
          '--reason',
          `leadrank model train --data ${opts.data}`,
        ];
        let registered: { version: string; created: boolean };
        try {
          registered = JSON.parse(
            await pythonModuleOutput('leadrank_training.registry', args),
          ) as typeof registered;
        } catch (err) {
          throw new Error(`--register ${opts.register} (${target} registry): ${refusal(err)}`);
        }
        Object.assign(summary, {
          registered: {
            version: registered.version,
            created: registered.created,
            alias: opts.register,
            region: registerRegion,
            registry: ModelRegistry.open(globals.registry, registerRegion ?? undefined, target, {
              strict: true,
            }).store.url,
          },
        });
      }
      console.log(JSON.stringify(summary));
    });
  return model;
}
