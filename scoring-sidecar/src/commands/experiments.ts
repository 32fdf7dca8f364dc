// `leadrank experiment create | list | status | canary | widen | rollout | revert | join-outcomes | report |
// check | mde`. State lives in the region's PostgreSQL database when DATABASE_URL is set (shared by every
// replica), else in one SQLite file (env LEADRANK_EXPERIMENTS_DB, default <state dir>/experiments.db, the file
// the region's sidecar serves from: config/paths.ts regionStateDir).
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { loadSalesforceNames, regionStateDir } from '../config/index.js';
import { connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import {
  ExperimentService,
  ExperimentStore,
  formatReport,
  importOutcomes,
  importPrePeriod,
  loadExperimentDefinition,
  minimumDetectableEffect,
  repsNeeded,
} from '../experiments/index.js';
import { databaseUrlOf } from '../shared-state/index.js';

export function defaultExperimentsDb(env: Record<string, string | undefined> = process.env): string {
  return env.LEADRANK_EXPERIMENTS_DB ?? join(regionStateDir(env), 'experiments.db');
}

/** DATABASE_URL when set (the `db` file is then unused), else the SQLite file `db`. */
export async function openExperimentService(
  db = defaultExperimentsDb(),
  env: Record<string, string | undefined> = process.env,
): Promise<ExperimentService> {
  const databaseUrl = databaseUrlOf(env);
  if (!databaseUrl && db !== ':memory:') mkdirSync(dirname(db), { recursive: true });
  return ExperimentService.open(await ExperimentStore.open({ databaseUrl, sqliteFile: db }));
}

const actor = () => process.env.LEADRANK_ACTOR ?? process.env.USER ?? 'cli';

export function registerExperimentCommands(program: Command): Command {
  const experiment = program
    .command('experiment')
    .description('rep-level experiments: shadow, canary, rollout, revert, reports and guardrails')
    .option('--db <file>', 'experiment state (env LEADRANK_EXPERIMENTS_DB)', defaultExperimentsDb());
  const withService =
    <A extends unknown[]>(fn: (svc: ExperimentService, ...args: A) => Promise<void> | void) =>
    async (...args: A) => {
      const svc = await openExperimentService((experiment.opts() as { db: string }).db);
      try {
        await fn(svc, ...args);
      } finally {
        await svc.close();
        await svc.store.close();
      }
    };

  experiment
    .command('create')
    .description('register an experiment from its definition (starts in shadow mode)')
    .requiredOption('--file <json>', 'definition, e.g. config/experiments/model-vs-rules.json')
    .action(
      withService(async (svc, opts: { file: string }) => {
        const state = await svc.create(await loadExperimentDefinition(opts.file), actor());
        console.log(`created ${state.id} in ${state.mode} mode`);
      }),
    );

  experiment
    .command('list')
    .description('experiments with their mode and treatment share')
    .action(
      withService(async (svc) => {
        for (const s of await svc.store.list())
          console.log(`${s.id}\t${s.mode}\tshare ${s.share}\tsince ${s.updatedAt}`);
      }),
    );

  experiment
    .command('status <id>')
    .description('mode, share and the trail of mode changes with their reasons')
    .action(
      withService(async (svc, id: string) => {
        const s = await svc.require(id);
        console.log(`${s.id}: ${s.mode}, share ${s.share}`);
        for (const e of await svc.store.events(id))
          console.log(
            `  ${e.at} ${e.action} ${e.fromMode ?? '-'} → ${e.toMode} (${e.share}) by ${e.actor}: ${e.reason}`,
          );
      }),
    );

  const change = (
    name: string,
    description: string,
    run: (svc: ExperimentService, id: string, reason?: string) => unknown,
  ) =>
    experiment
      .command(`${name} <id>`)
      .description(description)
      .option('--reason <text>', 'why, for the trail')
      .action(
        withService(async (svc, id: string, opts: { reason?: string }) => {
          await run(svc, id, opts.reason);
          const s = await svc.require(id);
          console.log(`${id}: ${s.mode}, share ${s.share}`);
        }),
      );
  change('canary', 'show the treatment to the first canary share of units', (svc, id, reason) =>
    svc.startCanary(id, actor(), reason),
  );
  change('widen', 'move the canary to its next share (full rollout after the last)', (svc, id, reason) =>
    svc.widen(id, actor(), reason),
  );
  change('rollout', 'show the treatment to every unit', (svc, id, reason) =>
    svc.rollout(id, actor(), reason),
  );
  experiment
    .command('revert <id>')
    .description('everyone back on the control (champion) now')
    .requiredOption('--reason <text>', 'why, for the trail')
    .action(
      withService(async (svc, id: string, opts: { reason: string }) => {
        await svc.revert(id, actor(), opts.reason);
        console.log(`${id}: reverted, everyone on control`);
      }),
    );

  experiment
    .command('join-outcomes <id>')
    .description('read outcomes and the pre-period from Salesforce (env SF_LOGIN_URL, SF_CLIENT_ID, …)')
    .requiredOption('--since <iso>', 'experiment start: leads created from then on')
    .option('--region <region>', 'only this region (Data_Region__c)')
    .action(
      withService(async (svc, id: string, opts: { since: string; region?: string }) => {
        const state = await svc.require(id);
        const conn = await connectToOrg(orgAuthFromEnv());
        const since = new Date(opts.since);
        const region = opts.region ? { region: opts.region } : {};
        const bulk = { names: loadSalesforceNames() };
        const leads = await importOutcomes(conn, svc.store, id, { since, ...region }, bulk);
        const units = await svc.store.repUnits(id);
        // Reps never seen by the sidecar are their own unit; a team experiment needs them seen first.
        const unitOf = (ownerId: string) =>
          units.get(ownerId) ?? (state.definition.unit === 'rep' ? ownerId : null);
        const pre = await importPrePeriod(
          conn,
          svc.store,
          id,
          {
            start: since,
            days: state.definition.prePeriodDays,
            unitOf,
            ...region,
          },
          bulk,
        );
        console.log(`joined ${leads} leads; pre-period for ${pre.length} units`);
      }),
    );

  experiment
    .command('report <id>')
    .description('effects per arm with clustered intervals, CUPED, SRM, guardrails and the decision')
    .option('--json', 'print the report as JSON')
    .action(
      withService(async (svc, id: string, opts: { json?: boolean }) => {
        const report = await svc.report(id);
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatReport(report));
      }),
    );

  experiment
    .command('check [id]')
    .description('scheduled guardrail check: halts a breached canary; exit 2 when one was halted')
    .action(
      withService(async (svc, id: string | undefined) => {
        const ids = id
          ? [id]
          : (await svc.store.list()).filter((s) => s.mode === 'canary' || s.mode === 'full').map((s) => s.id);
        for (const each of ids) {
          const { report, halted } = await svc.checkGuardrails(each);
          const breached = report.guardrails.filter((g) => g.breached);
          console.log(`${each}: ${halted ? 'HALTED' : breached.length ? 'breached (not running)' : 'ok'}`);
          for (const g of breached) console.log(`  ${g.name}: ${g.detail}`);
          if (halted) process.exitCode = 2;
        }
      }),
    );

  experiment
    .command('mde')
    .description('planning: detectable effect for a number of reps, or reps needed for an effect')
    .requiredOption('--base-rate <p>', 'control conversion rate', Number)
    .requiredOption('--leads-per-rep <n>', 'leads each rep works during the test', Number)
    .option('--icc <rho>', 'intra-rep correlation of conversion', Number, 0.02)
    .option('--reps <n>', 'reps available (prints the detectable effect)', Number)
    .option('--effect <pts>', 'absolute effect to detect, e.g. 0.02 (prints reps needed)', Number)
    .option('--share <s>', 'treatment share', Number, 0.5)
    .option('--alpha <a>', 'two-sided significance', Number, 0.05)
    .option('--power <p>', 'power', Number, 0.8)
    .option('--variance-reduction <r>', 'expected CUPED variance reduction (0–1)', Number, 0)
    .action(
      (o: {
        baseRate: number;
        leadsPerRep: number;
        icc: number;
        reps?: number;
        effect?: number;
        share: number;
        alpha: number;
        power: number;
        varianceReduction: number;
      }) => {
        const p = {
          baseRate: o.baseRate,
          icc: o.icc,
          leadsPerRep: o.leadsPerRep,
          treatmentShare: o.share,
          alpha: o.alpha,
          power: o.power,
          varianceReduction: o.varianceReduction,
        };
        if (o.reps)
          console.log(
            `detectable effect with ${o.reps} reps: ${(100 * minimumDetectableEffect({ ...p, reps: o.reps })).toFixed(2)} pts`,
          );
        if (o.effect)
          console.log(
            `reps needed for ${(100 * o.effect).toFixed(2)} pts: ${repsNeeded({ ...p, mde: o.effect })}`,
          );
        if (!o.reps && !o.effect) throw new Error('give --reps or --effect');
      },
    );
  return experiment;
}
