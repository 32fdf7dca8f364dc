// X Education the way a client brings it, through Leadrank's general commands only: the public export is
// imported into an org (the simulator, with the client's custom fields in config/imports/x-education-org) by
// `leadrank import --mapping config/imports/x-education.json`, then `leadrank training-set build --spec` with
// the shipped specs (clean: config/features/x-education.json; leaky: x-education-leaky.json) and
// `leadrank model train`. Prints each model's test ROC-AUC (time-ordered split) and whether the clean model is
// servable with its spec active; the last line is JSON.
//   npx tsx scripts/x-education.ts [--data <dir holding x-education-leads.csv>] [--out <dir>]
// --out keeps the training sets (<out>/clean, <out>/leaky) and models (<out>/<variant>-model), e.g. for
// bench/model-selection.py; without it they go to a temporary directory that is removed.
// The data is never copied into the repository: default $LEADRANK_X_EDUCATION_DATA, else the shared data
// folder beside the repository (../shared/data or ../../shared/data).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { pino } from 'pino';
import {
  activeSpecFrom,
  featureSpecSchema,
  servingDefinitions,
  storedLeadFields,
} from '../scoring-sidecar/src/features/index.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { data: { type: 'string' }, out: { type: 'string' } } });
const candidates = [
  values.data,
  process.env.LEADRANK_X_EDUCATION_DATA,
  join(repo, '..', 'shared', 'data'),
  join(repo, '..', '..', 'shared', 'data'),
].filter((d): d is string => Boolean(d));
const dataDir = candidates.find((d) => existsSync(join(d, 'x-education-leads.csv')));
if (!dataDir) {
  console.error(`x-education-leads.csv not found in ${candidates.join(', ')}: pass --data <dir>`);
  process.exit(2);
}

const tsx = join(repo, 'node_modules', '.bin', 'tsx');
const cli = join(repo, 'scoring-sidecar', 'src', 'cli.ts');
const app = { clientId: 'x-education', clientSecret: randomBytes(24).toString('base64url') };
const sim = await startOrgSimulator({
  port: 0,
  clients: [app],
  logger: pino({ level: 'warn' }),
  schema: loadOrgSchema({ extraMetadataDirs: [join(repo, 'config', 'imports', 'x-education-org')] }),
});
const env = {
  ...process.env,
  SF_LOGIN_URL: sim.url,
  SF_CLIENT_ID: app.clientId,
  SF_CLIENT_SECRET: app.clientSecret,
};

/** `leadrank <args>` as a child process (the simulator in this process answers it). */
async function leadrank(args: string[]): Promise<string> {
  console.log(`$ leadrank ${args.join(' ')}`);
  const child = spawn(tsx, [cli, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    process.stdout.write(chunk);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`leadrank ${args.slice(0, 2).join(' ')} failed (exit ${code})`);
  return out;
}

const work = values.out ?? mkdtempSync(join(tmpdir(), 'x-education-'));
const figures: Record<string, unknown> = {};
try {
  await leadrank(['import', '--mapping', 'config/imports/x-education.json', '--data', dataDir]);
  for (const [variant, spec] of [
    ['clean', 'config/features/x-education.json'],
    ['leaky', 'config/features/x-education-leaky.json'],
  ] as const) {
    const data = join(work, variant);
    const model = join(work, `${variant}-model`);
    await leadrank(['training-set', 'build', '--region', 'US', '--spec', spec, '--out', data]);
    await leadrank(['model', 'train', '--region', 'US', '--data', data, '--out', model]);
    const report = JSON.parse(readFileSync(join(model, 'report.json'), 'utf8')) as {
      overall: { roc_auc: number };
    };
    const fitted = featureSpecSchema.parse(
      JSON.parse(readFileSync(join(model, 'feature-spec.json'), 'utf8')),
    );
    // Servable with its own spec active: the store then holds the spec's fields (the custom bag).
    const active = activeSpecFrom(join(repo, spec));
    let servable = 'yes';
    try {
      servingDefinitions(fitted, active, storedLeadFields(active.source.config));
    } catch (error) {
      servable = `no: ${(error as Error).message}`;
    }
    let underLeadSpec = 'yes';
    try {
      servingDefinitions(fitted, activeSpecFrom(join(repo, 'config/features/lead.json')));
    } catch (error) {
      underLeadSpec = `no: ${(error as Error).message}`;
    }
    figures[variant] = {
      spec,
      features: fitted.features.length,
      testRocAuc: Number(report.overall.roc_auc.toFixed(4)),
      servableWithItsSpecActive: servable,
      servableUnderLeadSpec: underLeadSpec,
    };
    console.log(`${variant}: test ROC-AUC ${report.overall.roc_auc.toFixed(4)}; servable: ${servable}`);
  }
} finally {
  await sim.close();
  if (!values.out) rmSync(work, { recursive: true, force: true });
}
console.log(
  JSON.stringify({
    machine: { cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))) },
    ...figures,
  }),
);
