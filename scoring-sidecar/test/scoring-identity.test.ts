// One scoring pipeline, two doors: the same leads scored through POST /v1/score (with the fields Apex sends) and
// through a batch cycle (extract, score, write-back to the org) come out identical field by field: score, band,
// probability, reason lines, next-best action, source, version and feature hash; with the model and with rules.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrgSimulator } from '../../org-simulator/src/server.js';
import type { CycleModel } from '../src/batch/cycle.js';
import { leadToScore, minimizeRow } from '../src/batch/lead-rows.js';
import { runCycleInProcess } from '../src/batch/runners.js';
import type { BatchRuntime } from '../src/batch/runtime.js';
import { EVENT_TYPES, type EngagementEvent } from '../src/inputs/index.js';
import { loadServingModel, type ServingModel } from '../src/scoring/index.js';
import { startServer } from '../src/server.js';
import { trainSyntheticModel } from './api-test-kit.js';
import { INPUT_FIELDS, kitRuntime, queryStore, seedLeads, startSimulator } from './batch-kit.js';
import { seeded } from './support/seeded.js';
import { configDirWithDeadline } from './support/config-dir.js';
import { clientToken, SettableModels } from './support/sidecar-kit.js';

const SECRET = 'identity-secret';
const CLIENTS = JSON.stringify([
  {
    clientId: 'apex-eu',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'EU',
    name: 'Apex',
  },
]);
const ACTIVE =
  "Data_Region__c = 'EU' AND IsConverted = false AND Status NOT IN ('Closed - Converted', 'Closed - Not Converted')";
const PICKLIST = { model: 'Model', rules: 'Rules' } as const;

/** What one door said about one lead, in the form the batch leaves in the org. */
interface Outcome {
  score: number;
  band: string;
  probability: number | null;
  reasons: string;
  nextBestAction: string | null;
  source: string;
  modelVersion: string;
  /** Batch: from the cycle's Score_History__c row, which only score changes get (not a new top reason alone). */
  featureHash: string | null;
}

let sim: RunningOrgSimulator;
let serving: ServingModel;
let cycleModel: CycleModel;
let rt: BatchRuntime;
let base: string;
let token: string;
let stop: () => Promise<void>;
let clock = new Date();
const models = new SettableModels();

beforeAll(async () => {
  const work = mkdtempSync(join(tmpdir(), 'identity-'));
  const dir = await trainSyntheticModel(work, 2000, 31);
  serving = await loadServingModel(dir);
  cycleModel = { version: serving.version, dir };
  sim = await startSimulator();
  seedLeads(sim, 400, { region: 'EU', closedEvery: 10, seed: 9 });

  const started = await startServer(
    {
      REGION: 'EU',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_CLIENTS: CLIENTS,
      LEADRANK_TOKEN_SIGNING_KEY: 'identity-signing-key-0123456789abcdef012345',
      LEADRANK_AUDIT_DIR: join(work, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(work, 'state'),
      // The comparison is of the model's answers: no rules fallback from a slow request on a loaded machine.
      LEADRANK_CONFIG_DIR: configDirWithDeadline(work),
    },
    { logger: pino({ level: 'silent' }), models, now: () => clock },
  );
  stop = started.stop;
  base = `http://127.0.0.1:${started.port}`;
  token = await clientToken(base, 'apex-eu', SECRET);

  // Engagement for most leads, in the one online store both doors read events from.
  const store = started.sidecar.store;
  const rows = activeRows();
  await store.putLeads(rows.map((r) => leadToScore(minimizeRow(asBulkRow(r), 'EU')).profile));
  const rand = seeded(3);
  const events: EngagementEvent[] = [];
  rows.forEach((r, i) => {
    for (let k = 0; k < i % 5; k++) {
      events.push({
        eventId: `identity-${i}-${k}`,
        leadId: r.Id as string,
        type: EVENT_TYPES[Math.floor(rand() * EVENT_TYPES.length)]!,
        occurredAt: new Date(Date.now() - rand() * 25 * 86_400_000).toISOString(),
        region: 'EU',
      });
    }
  });
  await store.applyEvents(events);
  rt = await kitRuntime({ sim, featureStore: store });
}, 240_000);

afterAll(async () => {
  await rt?.close();
  await stop?.();
  await serving?.close();
  await sim?.close();
});

function activeRows(): Record<string, unknown>[] {
  return queryStore(sim, `SELECT ${INPUT_FIELDS} FROM Lead WHERE ${ACTIVE} ORDER BY Id`);
}

function asBulkRow(r: Record<string, unknown>): Record<string, string | null> {
  return Object.fromEntries(
    Object.entries(r)
      .filter(([k]) => k !== 'attributes')
      .map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]),
  );
}

/** The cycle's outcome per lead: the Lead fields and history row it wrote, and the probability it exported. */
async function batchOutcomes(
  cycleId: string,
  model: CycleModel | null,
): Promise<{ asOf: Date; byLead: Map<string, Outcome> }> {
  const report = await runCycleInProcess(rt, { model, cycleId });
  expect(report.leads.failed).toBe(0);
  const meta = JSON.parse((await rt.state.get(`c:${cycleId}:meta`))!.toString()) as { asOf: string };
  const data = readFileSync(report.exportFile!);
  const exported = (await parquetReadObjects({
    file: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
  })) as { lead_id: string; probability: number | null }[];
  const probability = new Map(exported.map((r) => [r.lead_id, r.probability ?? null]));
  const hashes = new Map(
    queryStore(
      sim,
      `SELECT Lead__c, Feature_Hash__c FROM Score_History__c WHERE Cycle_Id__c = '${cycleId}'`,
    ).map((h) => [h.Lead__c as string, h.Feature_Hash__c as string]),
  );
  const leads = queryStore(
    sim,
    `SELECT Id, Lead_Score__c, Score_Band__c, Score_Reasons__c, Next_Best_Action__c, Score_Source__c, Score_Model_Version__c FROM Lead WHERE ${ACTIVE}`,
  );
  const byLead = new Map<string, Outcome>();
  for (const l of leads) {
    const id = l.Id as string;
    byLead.set(id, {
      score: l.Lead_Score__c as number,
      band: l.Score_Band__c as string,
      probability: probability.get(id) ?? null,
      reasons: (l.Score_Reasons__c as string | null) ?? '',
      nextBestAction: (l.Next_Best_Action__c as string | null) ?? null,
      source: l.Score_Source__c as string,
      modelVersion: l.Score_Model_Version__c as string,
      featureHash: hashes.get(id) ?? null,
    });
  }
  return { asOf: new Date(meta.asOf), byLead };
}

interface ApiScore {
  status: number;
  leadId: string;
  score: number;
  band: string;
  probability: number | null;
  reasonLines: string[];
  nextBestAction: { label: string; rationale: string } | null;
  source: 'model' | 'rules';
  modelVersion: string;
  featureHash: string;
}

/** The same leads through POST /v1/score at the cycle's instant, with the fields Apex sends. */
async function apiOutcomes(asOf: Date): Promise<Map<string, Outcome>> {
  clock = asOf;
  const rows = activeRows();
  const res = await fetch(`${base}/v1/score`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      leads: rows.map(({ Id, attributes: _a, ...fields }) => ({ id: Id, fields })),
    }),
  });
  expect(res.status).toBe(200);
  const scores = ((await res.json()) as { scores: ApiScore[] }).scores;
  return new Map(
    scores.map((s) => [
      s.leadId,
      {
        score: s.score,
        band: s.band,
        probability: s.probability,
        reasons: s.reasonLines.join('\n'),
        nextBestAction: s.nextBestAction ? `${s.nextBestAction.label}: ${s.nextBestAction.rationale}` : null,
        source: PICKLIST[s.source],
        modelVersion: s.modelVersion,
        featureHash: s.featureHash,
      },
    ]),
  );
}

function differences(batch: Map<string, Outcome>, api: Map<string, Outcome>): string[] {
  const out: string[] = [];
  for (const [id, b] of batch) {
    const a = api.get(id);
    if (!a) {
      out.push(`${id}: not scored online`);
      continue;
    }
    for (const k of Object.keys(b) as (keyof Outcome)[])
      if (a[k] !== b[k] && !(k === 'featureHash' && b[k] === null))
        out.push(`${id}.${k}: batch ${JSON.stringify(b[k])}, api ${JSON.stringify(a[k])}`);
  }
  return out;
}

describe('online and batch scoring are one pipeline', () => {
  it('give identical scores, reasons, actions and feature hashes with the model', async () => {
    const { asOf, byLead } = await batchOutcomes('EU-identity-model', cycleModel);
    expect(byLead.size).toBe(360);
    models.model = serving;
    const api = await apiOutcomes(asOf);
    expect(differences(byLead, api)).toEqual([]);
    const all = [...byLead.values()];
    expect(all.every((o) => o.source === 'Model' && o.probability !== null && o.featureHash !== null)).toBe(
      true,
    );
    // Not a vacuous match: the leads differ, and reasons and actions are there to compare.
    expect(new Set(all.map((o) => o.featureHash)).size).toBeGreaterThan(300);
    expect(all.filter((o) => o.reasons.includes('\n')).length).toBeGreaterThan(100);
    expect(all.filter((o) => o.nextBestAction !== null).length).toBeGreaterThan(100);
  }, 240_000);

  it('give identical rules scores when there is no model', async () => {
    const { asOf, byLead } = await batchOutcomes('EU-identity-rules', null);
    models.model = null;
    const api = await apiOutcomes(asOf);
    expect(differences(byLead, api)).toEqual([]);
    const all = [...byLead.values()];
    expect(all.every((o) => o.source === 'Rules' && o.probability === null)).toBe(true);
    expect(all.filter((o) => o.featureHash !== null).length).toBeGreaterThan(300);
    // Rules lines carry their points, as Apex writes them.
    expect(all.some((o) => /^[+-]\d+ /.test(o.reasons))).toBe(true);
  }, 240_000);
});
