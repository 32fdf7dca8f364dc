// Shadow scoring in the batch cycle: with the region's live experiment in shadow and the challenger as its
// treatment (experiments.db, as the sidecar serves it), every lead is also scored by the challenger into the
// export's shadow columns, and the org receives exactly what a cycle without the experiment writes.
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { loadMeta, type CycleModel } from '../src/batch/cycle.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import { createBatchRuntime, type BatchRuntime } from '../src/batch/runtime.js';
import { liveShadowExperiment } from '../src/batch/shadow.js';
import { loadExperimentDefinition } from '../src/experiments/definition.js';
import { ExperimentService } from '../src/experiments/service.js';
import { ExperimentStore } from '../src/experiments/store.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import { trainSyntheticModel } from './api-test-kit.js';
import {
  connectTo,
  expectedScores,
  FAST,
  queryStore,
  repoRoot,
  seedLeads,
  startSimulator,
} from './batch-kit.js';

// This suite is about shadow scoring, not storage: the cycle reads the region's embedded experiment store (the
// SQLite file below), whatever DATABASE_URL npm test exports; the PostgreSQL path has its own suites.
delete process.env.DATABASE_URL;

const LEADS = 1200;
const ACTIVE = LEADS - LEADS / 10;
const AS_OF = '2025-11-20T08:00:00.000Z';
const LEAD_FIELDS =
  'Id, Lead_Score__c, Score_Band__c, Score_Reasons__c, Next_Best_Action__c, Score_Source__c, Score_Model_Version__c, Scored_At__c';
const HISTORY_FIELDS =
  'External_Key__c, Lead__c, Score__c, Previous_Score__c, Band__c, Reasons__c, Next_Best_Action__c, Source__c, Model_Version__c, Cycle_Id__c, Scored_At__c, Data_Region__c';

let champion: CycleModel;
let challenger: CycleModel;
/** The same leads in two orgs: one cycle with the shadow experiment, one without. */
let withShadowOrg: RunningOrgSimulator;
let plainOrg: RunningOrgSimulator;

async function trained(seed: number): Promise<CycleModel> {
  const dir = await trainSyntheticModel(mkdtempSync(join(tmpdir(), 'batch-shadow-model-')), 2000, seed);
  const serving = await loadServingModel(dir);
  await serving.onnx.close();
  return { version: serving.version, dir };
}

async function runtime(sim: RunningOrgSimulator, rootDir: string): Promise<BatchRuntime> {
  return createBatchRuntime({
    region: 'EU',
    rootDir,
    configDir: join(repoRoot, 'config'),
    overrides: FAST,
    keyPrefix: `lrtest-shadow-${Math.random().toString(36).slice(2, 8)}`,
    connect: () => connectTo(sim),
    featureStore: null,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    challengerModelDir: challenger.dir,
  });
}

/** A deployment root whose region state holds experiments.db with `definition` created (it starts in shadow). */
async function rootWithExperiment(definition: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'batch-shadow-root-'));
  const stateDir = join(root, 'var', 'state', 'EU');
  mkdirSync(stateDir, { recursive: true });
  const store = await ExperimentStore.open(join(stateDir, 'experiments.db'));
  const service = await ExperimentService.open(store);
  await service.create(
    await loadExperimentDefinition(join(repoRoot, 'config', 'experiments', `${definition}.json`)),
    'test',
  );
  await service.close();
  await store.close();
  return root;
}

async function exported(file: string) {
  const data = readFileSync(file);
  return parquetReadObjects({ file: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) });
}

beforeAll(async () => {
  [champion, challenger] = [await trained(7), await trained(8)];
  withShadowOrg = await startSimulator();
  plainOrg = await startSimulator();
  for (const sim of [withShadowOrg, plainOrg])
    seedLeads(sim, LEADS, { region: 'EU', closedEvery: 10, seed: 4 });
}, 240_000);

afterAll(async () => {
  await withShadowOrg?.close();
  await plainOrg?.close();
});

describe('shadow scoring in the batch cycle', () => {
  it('only a live shadow experiment with the challenger as treatment is shadowed', async () => {
    expect(champion.version).not.toBe(challenger.version);
    const shadowed = await rootWithExperiment('champion-vs-challenger');
    expect(await liveShadowExperiment(join(shadowed, 'var/state/EU/experiments.db'), {})).toBe(
      'champion-vs-challenger',
    );
    // model-vs-rules treats with the champion: nothing to shadow.
    const other = await rootWithExperiment('model-vs-rules');
    expect(await liveShadowExperiment(join(other, 'var/state/EU/experiments.db'), {})).toBeNull();
    expect(await liveShadowExperiment(join(tmpdir(), 'no-such-dir', 'experiments.db'), {})).toBeNull();
  });

  it('exports challenger scores for every lead and writes to the org exactly what a cycle without it writes', async () => {
    const shadowRt = await runtime(withShadowOrg, await rootWithExperiment('champion-vs-challenger'));
    const plainRt = await runtime(plainOrg, mkdtempSync(join(tmpdir(), 'batch-shadow-plain-')));
    try {
      const req = { model: champion, cycleId: 'EU-shadow', asOf: AS_OF };
      const shadowReport = await runCycleInProcess(shadowRt, req);
      const plainReport = await runCycleInProcess(plainRt, req);

      expect(shadowReport.shadow).toEqual({
        experimentId: 'champion-vs-challenger',
        modelVersion: challenger.version,
        scored: ACTIVE,
      });
      expect(plainReport.shadow).toBeNull();
      expect((await loadMeta(shadowRt.state, 'EU-shadow')).shadow).toEqual({
        experimentId: 'champion-vs-challenger',
        model: challenger,
      });

      // The org: identical leads and history rows, the same Bulk work.
      const shadowLeads = queryStore(withShadowOrg, `SELECT ${LEAD_FIELDS} FROM Lead ORDER BY Id`);
      expect(shadowLeads.filter((l) => l.Lead_Score__c !== null)).toHaveLength(ACTIVE);
      expect(shadowLeads).toEqual(queryStore(plainOrg, `SELECT ${LEAD_FIELDS} FROM Lead ORDER BY Id`));
      const history = `SELECT ${HISTORY_FIELDS} FROM Score_History__c ORDER BY External_Key__c`;
      expect(queryStore(withShadowOrg, history)).toEqual(queryStore(plainOrg, history));
      expect(shadowReport.leads).toEqual(plainReport.leads);
      expect(shadowReport.salesforce.bulkJobs).toBe(plainReport.salesforce.bulkJobs);
      expect(shadowReport.modelVersion).toBe(champion.version);
      // Feature hashes are per org (each simulator stamped its own CreatedDate): each is the champion's.
      const shown = await expectedScores(withShadowOrg, shadowRt, champion, AS_OF);
      for (const h of queryStore(withShadowOrg, 'SELECT Lead__c, Feature_Hash__c FROM Score_History__c'))
        expect(h.Feature_Hash__c).toBe(shown.get(h.Lead__c as string)!.featureHash);

      // The export: the champion's probability, and the challenger's score as its full scoring path gives it.
      const byChallenger = await expectedScores(withShadowOrg, shadowRt, challenger, AS_OF);
      const rows = await exported(shadowReport.exportFile!);
      expect(rows).toHaveLength(ACTIVE);
      let differ = 0;
      for (const r of rows) {
        const id = r.lead_id as string;
        expect(r.score).toBe(shown.get(id)!.score);
        expect(r.probability).toBe(shown.get(id)!.probability);
        expect(r.shadow_score).toBe(byChallenger.get(id)!.score);
        expect(r.shadow_probability).toBe(byChallenger.get(id)!.probability);
        expect(r.shadow_model_version).toBe(challenger.version);
        expect(r.model_version).toBe(champion.version);
        if (r.shadow_score !== r.score) differ++;
      }
      expect(differ).toBeGreaterThan(0);

      const plainRows = await exported(plainReport.exportFile!);
      expect(plainRows).toHaveLength(ACTIVE);
      for (const r of plainRows) {
        expect(r.shadow_score).toBeNull();
        expect(r.shadow_probability).toBeNull();
        expect(r.shadow_model_version).toBeNull();
        expect(typeof r.probability).toBe('number');
      }
      // The first eight columns keep their order; the new ones follow.
      expect(Object.keys(plainRows[0]!)).toEqual([
        'lead_id',
        'score',
        'band',
        'source',
        'model_version',
        'written',
        'cycle_id',
        'scored_at',
        'probability',
        'shadow_score',
        'shadow_probability',
        'shadow_model_version',
      ]);
    } finally {
      await shadowRt.close();
      await plainRt.close();
    }
  }, 240_000);

  it('exports no probability for rules scores', async () => {
    const rt = await runtime(plainOrg, mkdtempSync(join(tmpdir(), 'batch-shadow-rules-')));
    try {
      const report = await runCycleInProcess(rt, { model: null, cycleId: 'EU-rules', limit: 200 });
      expect(report.shadow).toBeNull();
      const rows = await exported(report.exportFile!);
      expect(rows).toHaveLength(200);
      expect(rows.every((r) => r.source === 'rules' && r.probability === null)).toBe(true);
    } finally {
      await rt.close();
    }
  }, 120_000);
});
