// `leadrank model [--target lead|opportunity] [--region US|EU] list | show <version> | promote --holdout <dir> |
// rollback --reason <text> | servable-features`. --region works on that region's registry (regions/<region>/,
// what `model train --region --register` writes and a deployment of the region serves). --target opportunity works on the deal models
// (targets/opportunity/ of the registry), judged against the deal spec. Promotion is decided by the Python gate (it scores both models on the holdout); this side
// first checks that the serving code computes every feature the challenger needs, which only it can know.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  ACTIVE_SPEC,
  activeSpecFrom,
  LEAD_CONVERSION_FEATURES,
  OPPORTUNITY_ACTIVE_SPEC,
  servingDefinitions,
  type ActiveSpec,
  type FeatureDefinition,
} from '../features/index.js';
import {
  ALIASES,
  leadrankPython,
  ModelRegistry,
  runPythonModule,
  TARGETS,
  type ModelTarget,
} from '../model/index.js';

export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}
const consoleOutput: CliOutput = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** The features the serving code computes, as the Python gate's --servable-features expects them. */
export function servableFeatures(definitions: readonly FeatureDefinition[] = LEAD_CONVERSION_FEATURES) {
  return definitions.map((f) => ({ name: f.name, kind: f.kind }));
}

export { leadrankPython, runPythonModule };

/** `--region` of `leadrank model`: US, EU, or not given. */
export function parseRegionOption(region: string | undefined): 'US' | 'EU' | undefined {
  if (region !== undefined && region !== 'US' && region !== 'EU')
    throw new Error(`--region must be US or EU, not ${region}`);
  return region;
}

interface PromoteOptions {
  holdout: string;
  days?: string;
  dryRun?: boolean;
  reportDir?: string;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(4));

export function registerModelCommands(program: Command, output: CliOutput = consoleOutput): Command {
  const model = program
    .command('model')
    .description('model registry: versions, champion / challenger, promotion and rollback')
    .option(
      '--registry <url>',
      'registry directory or file:// URL (default $LEADRANK_REGISTRY_URL or var/registry)',
    )
    .option(
      '--spec <file>',
      'the active feature spec to judge servability against (default $LEADRANK_FEATURE_SPEC or config/features/lead.json; config/features/opportunity.json with --target opportunity)',
    )
    .option(
      '--target <target>',
      'lead (default) or opportunity: which models (deal models are in targets/opportunity/ of the registry)',
    )
    .option(
      '--region <region>',
      "US or EU: that region's registry (regions/<region>/ of the registry); for train, the training set's region",
    );
  const regionOf = (cmd: Command) => parseRegionOption(cmd.optsWithGlobals<{ region?: string }>().region);
  const targetOf = (cmd: Command): ModelTarget => {
    const target = cmd.optsWithGlobals<{ target?: string }>().target ?? 'lead';
    if (!(TARGETS as readonly string[]).includes(target))
      throw new Error(`--target must be one of ${TARGETS.join(', ')}, not ${target}`);
    return target as ModelTarget;
  };
  const registryOf = (cmd: Command) => {
    const region = regionOf(cmd);
    return ModelRegistry.open(cmd.optsWithGlobals<{ registry?: string }>().registry, region, targetOf(cmd), {
      strict: true,
    });
  };
  // --spec: judge servability against another spec file than the active one ($LEADRANK_FEATURE_SPEC).
  const activeOf = (cmd: Command): ActiveSpec => {
    const file = cmd.optsWithGlobals<{ spec?: string }>().spec;
    if (file) return activeSpecFrom(file);
    return targetOf(cmd) === 'opportunity' ? OPPORTUNITY_ACTIVE_SPEC : ACTIVE_SPEC;
  };
  const registryArgs = (cmd: Command) => {
    const url = cmd.optsWithGlobals<{ registry?: string }>().registry;
    const region = regionOf(cmd);
    return [
      ...(url ? ['--registry', url] : []),
      ...(region ? ['--region', region] : []),
      '--target',
      targetOf(cmd),
    ];
  };

  model
    .command('list')
    .description('every registered version, with its aliases and test metrics')
    .action(async (_opts: unknown, cmd: Command) => {
      const registry = registryOf(cmd);
      const aliases = await Promise.all(
        ALIASES.map(async (a) => [a, (await registry.alias(a))?.version] as const),
      );
      const versions = await registry.versions();
      if (!versions.length) output.out(`no ${registry.target} versions in ${registry.store.url}`);
      for (const version of versions) {
        const card = await registry.card(version);
        const marks = aliases.filter(([, v]) => v === version).map(([a]) => a);
        output.out(
          [
            version,
            card.feature_spec.name,
            `${card.feature_spec.features} features`,
            `AUC ${fmt(card.metrics?.test.roc_auc)}`,
            `ECE ${fmt(card.metrics?.test.ece)}`,
            marks.length ? `[${marks.join(', ')}]` : '',
          ]
            .join('  ')
            .trimEnd(),
        );
      }
    });

  model
    .command('show <version>')
    .description('a version (or alias) card summary, and whether the serving code can feed it')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const registry = registryOf(cmd);
      const version = (ALIASES as readonly string[]).includes(ref)
        ? (await registry.alias(ref as (typeof ALIASES)[number]))?.version
        : ref;
      if (!version)
        throw new Error(
          `alias ${registry.label(ref as (typeof ALIASES)[number])} is not set in ${registry.store.url}`,
        );
      const [manifest, card, spec] = await Promise.all([
        registry.manifest(version),
        registry.card(version),
        registry.featureSpec(version),
      ]);
      const active = activeOf(cmd);
      let servable = 'yes';
      try {
        servingDefinitions(spec, active);
      } catch (err) {
        servable = `no: ${(err as Error).message}`;
      }
      const source = spec.source;
      output.out(
        JSON.stringify(
          {
            version,
            registeredAt: manifest?.registered_at,
            featureSpec: {
              name: card.feature_spec.name,
              hash: card.feature_spec.hash,
              features: card.feature_spec.features,
              // The spec configuration the model was trained with (its full content is in the card).
              config: source
                ? { file: source.file ?? null, hash: source.hash, name: source.config.name }
                : null,
              overrides: source?.overrides ?? [],
            },
            activeSpec: { file: active.source.file ?? null, hash: active.source.hash },
            testMetrics: card.metrics?.test,
            servable,
            files: Object.keys(manifest?.files ?? {}),
          },
          null,
          2,
        ),
      );
    });

  model
    .command('promote')
    .description('check the challenger against the serving features, then run the promotion gate')
    .requiredOption('--holdout <dir>', 'recent rows: a training-set directory (contract format)')
    .option('--days <n>', 'use only the most recent N days of the holdout')
    .option('--dry-run', 'judge and report, move no alias')
    .option('--report-dir <dir>', 'where the promotion report goes (default var/promotions/<time>-<version>)')
    .action(async (opts: PromoteOptions, cmd: Command) => {
      const registry = registryOf(cmd);
      const challenger = await registry.alias('challenger');
      if (!challenger) {
        output.err(`refused: no ${registry.label('challenger')} alias in the registry ${registry.store.url}`);
        process.exitCode = 1;
        return;
      }
      let definitions: FeatureDefinition[];
      try {
        definitions = servingDefinitions(await registry.featureSpec(challenger.version), activeOf(cmd));
      } catch (err) {
        output.err(
          `refused: ${registry.label('challenger')} ${challenger.version}: ${(err as Error).message}`,
        );
        process.exitCode = 1;
        return;
      }
      const work = await mkdtemp(join(tmpdir(), 'leadrank-promote-'));
      try {
        const servable = join(work, 'servable-features.json');
        // What serving computes for this challenger (its own spec's definitions when servable by spec).
        await writeFile(servable, JSON.stringify(servableFeatures(definitions)));
        const args = [...registryArgs(cmd), '--holdout', opts.holdout, '--servable-features', servable];
        if (opts.days) args.push('--days', opts.days);
        if (opts.dryRun) args.push('--dry-run');
        if (opts.reportDir) args.push('--report-dir', opts.reportDir);
        args.push('--challenger', challenger.version);
        process.exitCode = await runPythonModule('leadrank_training.promote', args);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });

  model
    .command('rollback')
    .description('move champion back to the previous champion (from the alias log)')
    .requiredOption('--reason <text>', 'why, for the alias log')
    .action(async (opts: { reason: string }, cmd: Command) => {
      // The registry module does it: it loads in a fraction of the gate's time (no numpy, sklearn, onnxruntime).
      const args = [...registryArgs(cmd), 'rollback', '--reason', opts.reason];
      process.exitCode = await runPythonModule('leadrank_training.registry', args);
    });

  model
    .command('servable-features')
    .description('the features the serving code computes (JSON), for the Python gate and retraining')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const json = JSON.stringify(servableFeatures(activeOf(cmd).definitions), null, 2);
      if (opts.out) await writeFile(opts.out, `${json}\n`);
      else output.out(json);
    });

  return model;
}
