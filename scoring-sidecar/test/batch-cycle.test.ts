// The cycle end to end in one process against the org simulator: extract of the region's active leads,
// scoring with the model (and with rules when there is none), material-change delta, Bulk API 2.0 write-back.
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { cycleFailures, type CycleModel } from '../src/batch/cycle.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import { trainSyntheticModel } from './api-test-kit.js';
import { expectedScores, kitRuntime, queryStore, seedLeads, startSimulator } from './batch-kit.js';

const LEAD_FIELDS =
  'Id, Lead_Score__c, Score_Band__c, Score_Reasons__c, Next_Best_Action__c, Score_Source__c, Score_Model_Version__c, Scored_At__c';

let sim: RunningOrgSimulator;
let model: CycleModel;

beforeAll(async () => {
  const dir = await trainSyntheticModel(mkdtempSync(join(tmpdir(), 'batch-model-')), 2000);
  const serving = await loadServingModel(dir);
  model = { version: serving.version, dir };
  await serving.onnx.close();
  sim = await startSimulator();
  seedLeads(sim, 2400, { region: 'EU', closedEvery: 10, seed: 1 });
  seedLeads(sim, 300, { region: 'US', seed: 2 });
}, 120_000);

afterAll(async () => {
  await sim?.close();
});

describe('batch cycle, in process', () => {
  it('scores every active lead of the region with one model version and writes each with its history row', async () => {
    const rt = await kitRuntime({ sim });
    try {
      const report = await runCycleInProcess(rt, { model, cycleId: 'EU-first' });
      const active = 2400 - 240;
      expect(report.leads.extracted).toBe(active);
      expect(report.leads.scored).toBe(active);
      expect(report.leads.written).toBe(active);
      expect(report.leads.historyWritten).toBe(active);
      expect(report.leads.failed).toBe(0);
      expect(report.modelVersion).toBe(model.version);
      expect(report.scoreSource).toBe('Model');
      expect(report.changeReasons.first).toBe(active);
      expect(report.explanations.computed + report.explanations.reused).toBe(active);
      expect(report.salesforce.bulkJobs).toBeGreaterThanOrEqual(2);
      expect(report.partitions).toBe(Math.ceil(active / 500));

      const meta = JSON.parse((await rt.state.get('c:EU-first:meta'))!.toString()) as { asOf: string };
      const expected = await expectedScores(sim, rt, model, meta.asOf);
      const leads = queryStore(sim, `SELECT ${LEAD_FIELDS}, Data_Region__c, Status FROM Lead`);
      let checked = 0;
      for (const lead of leads) {
        const e = expected.get(lead.Id as string);
        if (!e) {
          // Closed leads and the other region's leads are never touched.
          expect(lead.Lead_Score__c).toBeNull();
          continue;
        }
        checked++;
        expect(lead.Lead_Score__c).toBe(e.score);
        expect(lead.Score_Band__c).toBe(e.band);
        expect(lead.Score_Reasons__c ?? '').toBe(e.reasonLines.join('\n'));
        expect(lead.Next_Best_Action__c ?? null).toBe(e.nextBestAction);
        expect(lead.Score_Source__c).toBe('Model');
        expect(lead.Score_Model_Version__c).toBe(model.version);
      }
      expect(checked).toBe(active);
      // Reasons are signed lines, strongest first.
      const withReasons = leads.find((l) => typeof l.Score_Reasons__c === 'string');
      expect(String(withReasons?.Score_Reasons__c)).toMatch(/^[+-] /);

      const history = queryStore(
        sim,
        `SELECT External_Key__c, Lead__c, Score__c, Cycle_Id__c, Data_Region__c FROM Score_History__c WHERE Cycle_Id__c = 'EU-first'`,
      );
      expect(history).toHaveLength(active);
      expect(new Set(history.map((h) => h.External_Key__c)).size).toBe(active);
      for (const h of history.slice(0, 50)) {
        expect(h.External_Key__c).toBe(`${h.Lead__c as string}:EU-first`);
        expect(h.Score__c).toBe(expected.get(h.Lead__c as string)?.score);
        expect(h.Data_Region__c).toBe('EU');
      }

      // The BI export holds every scored lead.
      expect(report.exportFile).not.toBeNull();
      const exported = await parquetReadObjects({ file: await fileBuffer(report.exportFile!) });
      expect(exported).toHaveLength(active);
      expect(exported.filter((r) => r.written === true)).toHaveLength(active);
      expect(existsSync(join(rt.rootDir, 'var/batch/reports/EU/EU-first.json'))).toBe(true);
    } finally {
      await rt.close();
    }
  }, 120_000);

  it('writes nothing in a steady-state cycle and only the material change after a lead moves', async () => {
    const rt = await kitRuntime({ sim });
    try {
      const warm = await runCycleInProcess(rt, { model, cycleId: 'EU-warm' });
      // The first cycle in this runtime explains every lead; a repeat reuses every explanation.
      expect(warm.explanations.computed).toBe(warm.leads.scored);
      const steady = await runCycleInProcess(rt, { model, cycleId: 'EU-steady' });
      expect(steady.leads.written).toBe(0);
      expect(steady.leads.unchanged).toBe(steady.leads.scored);
      expect(steady.explanations.reused).toBe(steady.leads.scored);
      expect(steady.salesforce.bulkJobs).toBe(0);
      // Nothing written, yet the extract's Bulk query calls are counted (through the batch's client).
      expect(steady.salesforce.apiCalls).toBeGreaterThanOrEqual(3);

      // Make one lead a very different prospect: a material change for exactly that lead.
      const [lead] = queryStore(
        sim,
        `SELECT Id, Lead_Score__c FROM Lead WHERE Data_Region__c = 'EU' AND Status = 'Working - Contacted' AND LeadSource = 'Purchased List' LIMIT 1`,
      );
      sim.ctx.store.update('Lead', [
        { Id: lead!.Id, LeadSource: 'Partner Referral', NumberOfEmployees: 5000, Email: 'x@acme.example' },
      ]);
      const after = await runCycleInProcess(rt, { model, cycleId: 'EU-after' });
      const [updated] = queryStore(
        sim,
        `SELECT Id, Lead_Score__c FROM Lead WHERE Id = '${lead!.Id as string}'`,
      );
      expect(after.leads.written).toBe(1);
      expect(updated!.Lead_Score__c).not.toBe(lead!.Lead_Score__c);
      const history = queryStore(
        sim,
        `SELECT Id, Lead__c FROM Score_History__c WHERE Cycle_Id__c = 'EU-after'`,
      );
      expect(history.map((h) => h.Lead__c)).toEqual([lead!.Id]);
      expect(after.explanations.computed).toBeGreaterThanOrEqual(1);
      expect(after.explanations.computed).toBeLessThan(10);
    } finally {
      await rt.close();
    }
  }, 120_000);

  it('writes rules-based scores with Score_Source__c = Rules when no model is available at cycle start', async () => {
    const rt = await kitRuntime({ sim });
    try {
      const report = await runCycleInProcess(rt, { model: null, cycleId: 'EU-rules', limit: 600 });
      expect(report.scoreSource).toBe('Rules');
      expect(report.modelVersion).toBe(rt.ruleSetVersion);
      expect(report.leads.extracted).toBe(600);
      // Model scores and rule scores differ for most leads, and the source changed for all: all written.
      expect(report.leads.written).toBe(600);
      const rows = queryStore(
        sim,
        `SELECT Id, Score_Source__c, Score_Model_Version__c, Score_Reasons__c FROM Lead WHERE Score_Source__c = 'Rules'`,
      );
      expect(rows).toHaveLength(600);
      expect(rows.every((r) => r.Score_Model_Version__c === rt.ruleSetVersion)).toBe(true);
      // Apex's format for rule reasons: signed points first.
      const withReasons = rows.find((r) => typeof r.Score_Reasons__c === 'string');
      if (withReasons) expect(String(withReasons.Score_Reasons__c)).toMatch(/^[+-]\d+ /);
      expect(await cycleFailures(rt.state, 'EU-rules')).toEqual([]);
    } finally {
      await rt.close();
    }
  }, 120_000);
});

async function fileBuffer(file: string): Promise<ArrayBuffer> {
  const data = readFileSync(file);
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
}
