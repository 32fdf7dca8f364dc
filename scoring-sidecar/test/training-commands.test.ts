// `leadrank training-set build` against the org simulator (through jsforce, as against a real org) and
// `leadrank model train` on what it wrote (the Python trainer): the two steps an operator runs before serving.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainCommands } from '../src/commands/train.js';
import { registerTrainingSetCommands } from '../src/commands/training-set.js';
import { leadrankInProcess, startGeneratedOrg, type GeneratedOrg } from './support/generated-org.js';

const dataEnd = '2026-11-24T00:00:00.000Z';
const app = { clientId: 'training-commands-test', clientSecret: 'training-commands-secret' };
let org: GeneratedOrg;
let root: string;
const savedEnv = { ...process.env };

const leadrank = leadrankInProcess(registerTrainCommands, registerTrainingSetCommands);

beforeAll(async () => {
  org = await startGeneratedOrg('leadrank-training-commands', app, {
    seed: 7,
    active: 300,
    historical: 1200,
    dataEnd,
    euShare: 0.35,
    historyDays: 540,
  });
  root = org.root;
  Object.assign(process.env, org.env);
}, 180_000);
afterAll(async () => {
  process.env = savedEnv;
  await org?.close();
});

describe('leadrank training-set build and leadrank model train', () => {
  it('builds a training set from the org, reports what it wrote, and trains a servable model on it', async () => {
    const data = join(root, 'data');
    const trainingSet = join(root, 'training-set');
    const built = await leadrank([
      'training-set',
      'build',
      '--region',
      'US',
      '--out',
      trainingSet,
      '--events',
      join(data, 'events.ndjson.gz'),
      '--extracts',
      join(data, 'extracts'),
      '--data-end',
      dataEnd,
      '--ground-truth',
      data,
    ]);
    const summary = JSON.parse(built.at(-1)!) as { snapshots: number; positives: number; spec: string };
    const rows = await parquetReadObjects({
      file: await asyncBufferFromFile(join(trainingSet, 'training-set.parquet')),
    });
    expect(summary.snapshots).toBeGreaterThan(0);
    expect(rows).toHaveLength(summary.snapshots);
    expect(rows.filter((r) => Number(r.label) === 1)).toHaveLength(summary.positives);
    const spec = JSON.parse(await readFile(join(trainingSet, 'feature-spec.json'), 'utf8')) as {
      hash: string;
    };
    expect(summary.spec).toBe(spec.hash);

    const modelDir = join(root, 'model');
    const trained = await leadrank(['model', 'train', '--data', trainingSet, '--out', modelDir]);
    expect(existsSync(join(modelDir, 'model.onnx'))).toBe(true);
    const report = JSON.parse(await readFile(join(modelDir, 'report.json'), 'utf8')) as {
      overall: { roc_auc: number; ece: number };
    };
    const printed = JSON.parse(trained.at(-1)!) as { rocAuc: number; ece: number; modelDir: string };
    expect(printed).toMatchObject({ modelDir, rocAuc: report.overall.roc_auc, ece: report.overall.ece });
    expect(printed.rocAuc).toBeGreaterThan(0.5);
  }, 600_000);

  it('names the option at fault and writes nothing on bad input', async () => {
    const out = join(root, 'never-written');
    const events = join(root, 'data', 'events.ndjson.gz');
    await expect(
      leadrank([
        'training-set',
        'build',
        '--region',
        'US',
        '--out',
        out,
        '--events',
        events,
        '--data-end',
        'yesterday',
      ]),
    ).rejects.toThrow('--data-end is not an ISO date: yesterday');
    await expect(
      leadrank([
        'training-set',
        'build',
        '--region',
        'US',
        '--out',
        out,
        '--events',
        join(root, 'nope.gz'),
        '--data-end',
        dataEnd,
      ]),
    ).rejects.toThrow(/--events: .*nope\.gz does not exist/);
    await expect(leadrank(['model', 'train', '--data', root, '--out', out])).rejects.toThrow(
      /--data: .* has no training-set\.parquet/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
