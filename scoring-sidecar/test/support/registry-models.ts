// Real models for registry tests: training sets written by the product's TypeScript writers, trained by the
// Python trainer (LEADRANK_PYTHON) and registered by the Python registry CLI, as the product does it. Lead
// models from a small synthetic spec; deal models from synthetic closed opportunities through the product's
// own opportunity training-set code (config/features/opportunity.json), so serving computes their features.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { vi } from 'vitest';
import { registerModelCommands } from '../../src/commands/model.js';
import { registerTrainCommands } from '../../src/commands/train.js';
import { opportunityTrainingSet } from '../../src/features/opportunity-training-set.js';
import {
  makeFeatureSpec,
  writeTrainingSet,
  type FeatureDefinition,
  type TrainingRow,
} from '../../src/features/training-set-file.js';
import { pythonModuleOutput } from '../../src/model/python.js';
import { seeded } from './seeded.js';

/** `python -m <module> ...args` (stdout); LEADRANK_ACTOR names the test in alias documents. */
export const py = (module: string, ...args: string[]) =>
  pythonModuleOutput(module, args, { LEADRANK_ACTOR: 'registry-test' });

/** Writes a lead training set of `features` with `rows`, trains it; returns the model directory. */
export async function trainLeadModel(
  work: string,
  name: string,
  specName: string,
  features: FeatureDefinition[],
  rows: Iterable<TrainingRow>,
): Promise<string> {
  const data = join(work, `${name}-data`);
  await writeTrainingSet(data, makeFeatureSpec(specName, features), rows);
  await py('leadrank_training.train', '--data', data, '--out', join(work, name));
  return join(work, name);
}

/** Registers a model directory (`--target` lead or opportunity); returns its version. */
export async function registerModel(
  registry: string,
  modelDir: string,
  opts: { target?: 'lead' | 'opportunity'; alias?: 'champion' | 'challenger' } = {},
): Promise<string> {
  const args = ['--registry', registry, '--target', opts.target ?? 'lead', 'register', modelDir];
  if (opts.alias) args.push('--alias', opts.alias);
  return (JSON.parse(await py('leadrank_training.registry', ...args)) as { version: string }).version;
}

/** Points an alias at a version with the Python CLI (a manual, logged move). */
export const setAlias = (
  registry: string,
  alias: 'champion' | 'challenger',
  version: string,
  target: 'lead' | 'opportunity' = 'lead',
) =>
  py(
    'leadrank_training.registry',
    '--registry',
    registry,
    '--target',
    target,
    'alias',
    'set',
    alias,
    version,
    '--reason',
    'test',
  );

const INDUSTRIES = ['Technology', 'Finance', 'Healthcare', 'Retail'];
const SOURCES = ['Web', 'Partner Referral', 'Trade Show', 'Advertisement'];
const TYPES = ['New Customer', 'Existing Customer - Upgrade'];
const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Closed opportunities as the Bulk API gives them (strings), won more often by existing customers, referrals,
 * technology accounts and larger accounts (a known logistic signal). Ids are unique per seed.
 */
export function* closedDeals(
  n: number,
  seed: number,
  region: 'US' | 'EU' = 'US',
): Generator<Record<string, string | null>> {
  const rand = seeded(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0; i < n; i++) {
    const created = Date.UTC(2025, 0, 1) + i * 3 * 3_600_000;
    const type = pick(TYPES);
    const source = pick(SOURCES);
    const industry = rand() < 0.1 ? null : pick(INDUSTRIES);
    const employees = Math.round(10 ** (1 + rand() * 3));
    const amount = Math.round(5_000 * 10 ** (rand() * 1.5));
    const z =
      -1.6 +
      (type === TYPES[1] ? 1.3 : 0) +
      (source === 'Partner Referral' ? 0.9 : 0) +
      (industry === 'Technology' ? 0.6 : 0) +
      0.4 * Math.log10(employees) -
      0.3 * Math.log10(amount / 5_000);
    const won = rand() < 1 / (1 + Math.exp(-z));
    yield {
      Id: `006${String(seed).padStart(3, '0')}${String(i).padStart(9, '0')}AAA`,
      CreatedDate: new Date(created).toISOString(),
      StageName: won ? 'Closed Won' : 'Closed Lost',
      Amount: String(amount),
      Probability: won ? '100' : '0',
      CloseDate: day(created + (30 + Math.floor(rand() * 90)) * DAY),
      Type: type,
      LeadSource: source,
      IsClosed: 'true',
      IsWon: won ? 'true' : 'false',
      LastActivityDate: rand() < 0.3 ? null : day(created - Math.floor(rand() * 20) * DAY),
      AccountId: `001${String(seed).padStart(3, '0')}${String(i).padStart(9, '0')}AAA`,
      Data_Region__c: region,
      'Account.Industry': industry,
      'Account.NumberOfEmployees': String(employees),
      'Account.AnnualRevenue': String(employees * 150_000),
    };
  }
}

/**
 * A deal training set in `dir` as `leadrank opportunities training-set --region` writes it: the product's
 * opportunityTrainingSet over synthetic closed deals, with its residency.
 */
export async function writeDealTrainingSet(
  dir: string,
  n: number,
  seed: number,
  region: 'US' | 'EU' = 'US',
): Promise<string> {
  const set = opportunityTrainingSet(closedDeals(n, seed, region));
  await writeTrainingSet(dir, set.spec, set.rows);
  const residency = { region, pooled: false, builtAt: new Date().toISOString() };
  await writeFile(join(dir, 'residency.json'), `${JSON.stringify(residency, null, 2)}\n`);
  return dir;
}

/** A two-feature lead spec whose label depends on both (intent and campaigns), for small real models. */
export const TWO_FEATURES: FeatureDefinition[] = [
  { name: 'intent_score', kind: 'numeric', description: 'intent' },
  { name: 'campaign_count', kind: 'numeric', description: 'campaigns' },
];

/** `n` rows of TWO_FEATURES, ten minutes apart from 2025-01-01, labelled by a logistic of both features. */
export function* twoFeatureRows(n: number, seed: number, region = 'NA'): Generator<TrainingRow> {
  const rand = seeded(seed);
  for (let i = 0; i < n; i++) {
    const intent = rand() * 100;
    const campaigns = Math.floor(rand() * 5);
    yield {
      leadId: `L${seed}-${i}`,
      snapshotAt: new Date(Date.UTC(2025, 0, 1) + i * 600_000),
      label: rand() < 1 / (1 + Math.exp(-(-2 + 0.03 * intent + 0.2 * campaigns))) ? 1 : 0,
      segments: { region },
      values: [intent, campaigns],
    };
  }
}

/** `leadrank model <args>` in process, as the CLI registers it; its printed lines and exit code. */
export async function modelCli(...args: string[]): Promise<{ out: string[]; err: string[]; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new Command().exitOverride();
  registerModelCommands(program, { out: (l) => out.push(l), err: (l) => err.push(l) });
  registerTrainCommands(program);
  const log = vi.spyOn(console, 'log').mockImplementation((l: unknown) => void out.push(String(l)));
  try {
    await program.parseAsync(['model', ...args], { from: 'user' });
  } catch (e) {
    err.push((e as Error).message);
    process.exitCode = process.exitCode || 1;
  } finally {
    log.mockRestore();
  }
  return { out, err, code: Number(process.exitCode ?? 0) };
}

/** The last JSON line a command printed. */
export const lastJson = <T>(lines: string[]) =>
  JSON.parse(lines.filter((l) => l.startsWith('{')).at(-1)!) as T;

/** Reads until `done` holds or `ms` pass (then the last value, for the assertion to show). */
export async function until<T>(read: () => T | Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
