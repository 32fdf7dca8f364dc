// Custom fields carry signal (issue 14.6): a generated org whose leads carry the client's own custom fields
// (`generate --custom-fields`: Budget_Band__c and Demo_Requested__c shift the conversion hazard; Favourite_Colour__c
// and Lucky_Number__c are noise; Personal_Mobile__c is a personal phone, PII by its metadata). The org simulator
// is seeded as the demo seeds it, with the fields' metadata deployed on top (crm-generator/metadata/custom-fields).
// Then only product commands: `leadrank features propose --target lead`, `leadrank training-set build --region US
// --spec`, `leadrank model train`, for three specs: the shipped lead spec (config/features/lead.json); the shipped
// spec plus the client's fields as the proposal chose them ("proposed"); and the shipped spec plus only the noise
// fields the proposal chose. Prints the machine, the proposal's choices and refusals with reasons, each test
// ROC-AUC (with the Bayes-optimal ceiling on the same rows), the lifts, and a last JSON line.
// Run: `npx tsx bench/custom-field-lift.ts [--historical 12000] [--active 300] [--history-days 120] [--seed 11]`
// (LEADRANK_PYTHON for training).
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { pino } from 'pino';
import { CUSTOM_FIELDS_METADATA_DIR, generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator } from '@leadrank/org-simulator';
import { loadOrgSchema } from '@leadrank/org-simulator/schema';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';

const { values } = parseArgs({
  options: {
    historical: { type: 'string', default: '12000' },
    active: { type: 'string', default: '300' },
    'history-days': { type: 'string', default: '120' },
    seed: { type: 'string', default: '11' },
  },
});
const repo = join(import.meta.dirname, '..');
const cli = join(repo, 'scoring-sidecar/src/cli.ts');
const INFORMATIVE = ['Budget_Band__c', 'Demo_Requested__c'];
const NOISE = ['Favourite_Colour__c', 'Lucky_Number__c'];
const machine = () => {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, load ${os.loadavg()[0]!.toFixed(1)}, Node ${process.version}`;
};
const lastJson = <T>(out: string): T => JSON.parse(out.trim().split('\n').pop()!) as T;

interface SpecFeature {
  name: string;
  source: { field?: string };
}
interface Spec {
  name: string;
  features: SpecFeature[];
}

const root = await mkdtemp(join(os.tmpdir(), 'custom-field-lift-'));
const started = Date.now();
const dataEnd = '2026-11-24T00:00:00Z';
try {
  const data = join(root, 'data');
  await generateDataset({
    outDir: data,
    seed: Number(values.seed),
    active: Number(values.active),
    historical: Number(values.historical),
    dataEnd,
    euShare: 0.3,
    historyDays: Number(values['history-days']),
    customFields: true,
  });
  const app = { clientId: 'custom-lift', clientSecret: 'custom-lift-secret' };
  const sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: pino({ level: 'silent' }),
    schema: loadOrgSchema({ extraMetadataDirs: [CUSTOM_FIELDS_METADATA_DIR] }),
  });
  try {
    await seedFromDirectory(sim.ctx.store, data);
    const env = {
      ...process.env,
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: app.clientId,
      SF_CLIENT_SECRET: app.clientSecret,
      LOG_LEVEL: 'warn',
    };
    const leadrank = async (args: string[]) =>
      (await promisify(execFile)('npx', ['tsx', cli, ...args], { cwd: repo, env, maxBuffer: 64 << 20 }))
        .stdout;

    // 1. The proposal, from describe (with classification) and a sample.
    const proposedFile = join(root, 'lead-proposed.json');
    const proposeOut = await leadrank([
      'features',
      'propose',
      '--target',
      'lead',
      '--region',
      'US',
      '--out',
      proposedFile,
    ]);
    const clientFields = readdirSync(join(CUSTOM_FIELDS_METADATA_DIR, 'objects/Lead/fields')).map(
      (f) => f.split('.')[0]!,
    );
    const decisions = proposeOut
      .split('\n')
      .filter((l) => /^(use |skip)/.test(l))
      .map((l) => ({ chosen: l.startsWith('use'), text: l.slice(4).trim() }))
      .filter((d) => clientFields.some((f) => d.text.startsWith(`${f}`) || d.text.includes(` ${f} `)));
    const proposed = JSON.parse(readFileSync(proposedFile, 'utf8')) as Spec;
    const chosenFeatures = proposed.features.filter((f) => clientFields.includes(f.source.field ?? ''));
    const chosen = chosenFeatures.map((f) => f.source.field!);
    const refused = decisions.filter((d) => !d.chosen).map((d) => d.text);

    // 2. Specs: the shipped one, + the client's fields as proposed, + only the noise fields.
    const shipped = JSON.parse(readFileSync(join(repo, 'config/features/lead.json'), 'utf8')) as Spec;
    const withFeatures = (name: string, extra: SpecFeature[]) => {
      const file = join(root, `${name}.json`);
      writeFileSync(
        file,
        JSON.stringify({ ...shipped, name, features: [...shipped.features, ...extra] }, null, 2),
      );
      return file;
    };
    const specs = {
      shipped: join(repo, 'config/features/lead.json'),
      proposed: withFeatures('lead-with-client-fields', chosenFeatures),
      noiseOnly: withFeatures(
        'lead-with-noise-fields',
        chosenFeatures.filter((f) => NOISE.includes(f.source.field ?? '')),
      ),
    };

    // 3. Train each on the same org and split.
    const auc: Record<string, { rocAuc: number | null; ceilingRocAuc: number | null; snapshots: number }> =
      {};
    for (const [name, spec] of Object.entries(specs)) {
      const set = join(root, `set-${name}`);
      const built = lastJson<{ snapshots: number }>(
        await leadrank([
          'training-set',
          'build',
          '--region',
          'US',
          '--spec',
          spec,
          '--out',
          set,
          '--events',
          join(data, 'events.ndjson.gz'),
          '--extracts',
          join(data, 'extracts'),
          '--data-end',
          dataEnd,
          '--ground-truth',
          data,
        ]),
      );
      const trained = lastJson<{ rocAuc: number | null; ceilingRocAuc: number | null }>(
        await leadrank(['model', 'train', '--data', set, '--out', join(root, `model-${name}`)]),
      );
      auc[name] = {
        rocAuc: trained.rocAuc,
        ceilingRocAuc: trained.ceilingRocAuc,
        snapshots: built.snapshots,
      };
    }
    const lift = (a: string) =>
      auc[a]!.rocAuc !== null && auc.shipped!.rocAuc !== null ? auc[a]!.rocAuc! - auc.shipped!.rocAuc! : null;
    const fmt = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(4));
    const result = {
      historical: Number(values.historical),
      active: Number(values.active),
      historyDays: Number(values['history-days']),
      seed: Number(values.seed),
      chosen,
      refused,
      informativeChosen: INFORMATIVE.every((f) => chosen.includes(f)),
      shippedRocAuc: auc.shipped!.rocAuc,
      proposedRocAuc: auc.proposed!.rocAuc,
      noiseOnlyRocAuc: auc.noiseOnly!.rocAuc,
      ceilingRocAuc: auc.shipped!.ceilingRocAuc,
      snapshots: auc.shipped!.snapshots,
      lift: lift('proposed'),
      noiseLift: lift('noiseOnly'),
      seconds: (Date.now() - started) / 1000,
    };
    console.log(`machine: ${machine()} (measured under load)`);
    console.log(`the proposal on the client's fields (${clientFields.join(', ')}):`);
    for (const d of decisions) console.log(`  ${d.chosen ? 'use ' : 'skip'}  ${d.text}`);
    console.log(
      `US snapshots ${result.snapshots}; Bayes-optimal ceiling on the test rows ${fmt(result.ceilingRocAuc)}`,
    );
    console.log(`test ROC-AUC shipped spec                 ${fmt(result.shippedRocAuc)}`);
    console.log(
      `test ROC-AUC + client fields as proposed  ${fmt(result.proposedRocAuc)}  (lift ${fmt(result.lift)})`,
    );
    console.log(
      `test ROC-AUC + noise fields only          ${fmt(result.noiseOnlyRocAuc)}  (lift ${fmt(result.noiseLift)})`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await sim.close();
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
