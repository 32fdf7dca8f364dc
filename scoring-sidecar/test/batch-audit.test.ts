// Every batch score in the audit log: a real cycle against the org simulator appends one entry per scored lead
// to the region's batch chain (feature vector, hash, reasons, model version, cycle id, origin "batch"), before
// the write phase; `leadrank audit show` lists a lead's online and batch scores together and `verify` covers
// the batch chain like any other.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import { auditHistory, verifyAuditLog } from '../src/audit/index.js';
import type { CycleModel } from '../src/batch/cycle.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import { registerAuditCommands } from '../src/commands/audit.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import { startServer } from '../src/server.js';
import { trainSyntheticModel } from './api-test-kit.js';
import {
  expectedScores,
  INPUT_FIELDS,
  kitRuntime,
  queryStore,
  repoRoot,
  seedLeads,
  startSimulator,
} from './batch-kit.js';

let sim: RunningOrgSimulator;
let model: CycleModel;
const work = mkdtempSync(join(tmpdir(), 'batch-audit-'));
const auditDir = join(work, 'audit');

beforeAll(async () => {
  const dir = await trainSyntheticModel(mkdtempSync(join(tmpdir(), 'batch-audit-model-')), 2000);
  const serving = await loadServingModel(dir);
  model = { version: serving.version, dir };
  await serving.onnx.close();
  sim = await startSimulator();
  seedLeads(sim, 1200, { region: 'EU', closedEvery: 10, seed: 3 });
  seedLeads(sim, 100, { region: 'US', seed: 4 });
}, 120_000);

afterAll(async () => {
  await sim?.close();
});

async function show(leadId: string): Promise<string> {
  const out: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    const program = new Command('leadrank').exitOverride();
    registerAuditCommands(program);
    await program.parseAsync(['audit', 'show', leadId, '--dir', auditDir], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return out.join('\n');
}

describe('batch scores in the audit log', () => {
  it('a cycle appends every scored lead to batch/<region>, verifiable, and show lists online and batch scores', async () => {
    const rt = await kitRuntime({ sim, rootDir: work, auditDir });
    const active = 1200 - 120;
    let asOf: string;
    try {
      const report = await runCycleInProcess(rt, { model, cycleId: 'EU-audit-1' });
      expect(report.leads.scored).toBe(active);
      expect(report.stages.audit?.entries).toBe(active);
      asOf = (JSON.parse((await rt.state.get('c:EU-audit-1:meta'))!.toString()) as { asOf: string }).asOf;

      const verified = await verifyAuditLog(auditDir);
      expect(verified.ok).toBe(true);
      expect(verified.entries).toBe(active);
      expect(verified.chains.map((c) => c.chain)).toEqual(['batch/EU']);

      // Each entry is the score the cycle computed and wrote: same hash, vector, reasons and model.
      const expected = await expectedScores(sim, rt, model, asOf);
      const [leadId, e] = [...expected.entries()][7]!;
      const history = [];
      for await (const h of auditHistory(auditDir, leadId)) history.push(h);
      expect(history).toHaveLength(1);
      const entry = history[0]!;
      expect(entry).toMatchObject({
        origin: 'batch',
        cycleId: 'EU-audit-1',
        caller: 'batch',
        chain: 'batch/EU',
        region: 'EU',
        modelVersion: model.version,
        source: 'model',
        featureHash: e.featureHash,
        score: e.score,
        band: e.band,
        reasons: e.reasonLines,
        scoredAt: asOf,
      });
      expect(entry.featureVector).toEqual([...e.vector!]);
      expect(entry.featureVector.length).toBeGreaterThan(10);
      expect(entry.featureNames).toBeUndefined(); // compact: the model version's spec names them
      const [org] = queryStore(sim, `SELECT Lead_Score__c FROM Lead WHERE Id = '${leadId}'`);
      expect(org!.Lead_Score__c).toBe(entry.score);

      // The US leads were neither scored nor audited by the EU cycle.
      const usLead = queryStore(sim, `SELECT Id FROM Lead WHERE Data_Region__c = 'US' LIMIT 1`)[0]!;
      const none = [];
      for await (const h of auditHistory(auditDir, String(usLead.Id))) none.push(h);
      expect(none).toHaveLength(0);

      // The same lead scored online by `leadrank serve` on the same audit root.
      const started = await startServer(
        {
          REGION: 'EU',
          PORT: '0',
          HOST: '127.0.0.1',
          LEADRANK_MODEL_DIR: model.dir,
          LEADRANK_CLIENTS: JSON.stringify([
            {
              clientId: 'sf-EU',
              clientSecretSha256: createHash('sha256').update('secret').digest('hex'),
              region: 'EU',
              name: 'Salesforce EU',
            },
          ]),
          LEADRANK_TOKEN_SIGNING_KEY: 'test-signing-key-0123456789abcdef0123456789',
          LEADRANK_AUDIT_DIR: auditDir,
          LEADRANK_AUDIT_FSYNC: 'none',
          LEADRANK_STATE_DIR: join(work, 'state'),
          LEADRANK_CONFIG_DIR: join(repoRoot, 'config'),
        },
        { logger: pino({ level: 'silent' }) },
      );
      try {
        const base = `http://127.0.0.1:${started.port}`;
        const tokenRes = await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&client_id=sf-EU&client_secret=secret',
        });
        const { access_token: token } = (await tokenRes.json()) as { access_token: string };
        const [row] = queryStore(sim, `SELECT ${INPUT_FIELDS} FROM Lead WHERE Id = '${leadId}'`);
        const fields = Object.fromEntries(
          Object.entries(row!).filter(([k, v]) => k !== 'attributes' && k !== 'Id' && v !== null),
        );
        const res = await fetch(`${base}/v1/score`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: leadId, fields }),
        });
        expect(res.status).toBe(200);
      } finally {
        await started.stop();
      }

      const table = (await show(leadId)).split('\n');
      expect(table[0]).toMatch(/^SEQ\s+CHAIN\s+ORIGIN\s+SCORED AT\s+SCORE/);
      const rows = table.filter((r) => /^\d/.test(r));
      expect(rows).toHaveLength(2);
      expect(rows.some((r) => /\sEU\s+online\s/.test(r))).toBe(true);
      expect(rows.some((r) => /\sbatch\/EU\s+batch EU-audit-1\s/.test(r))).toBe(true);

      // A second cycle continues the batch chain; the whole root still verifies.
      const second = await runCycleInProcess(rt, { model, cycleId: 'EU-audit-2' });
      expect(second.stages.audit?.entries).toBe(active);
      const again = await verifyAuditLog(auditDir);
      expect(again.ok).toBe(true);
      expect(again.entries).toBe(2 * active + 1);
      expect(again.chains.map((c) => c.chain).sort()).toEqual(['EU', 'batch/EU']);
    } finally {
      await rt.close();
    }
  }, 240_000);
});
