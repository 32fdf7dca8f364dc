// Experiments in the running sidecar: the worklist route ranks by the rep's arm (rules for control, the model
// for treatment), says the arm and records the exposure of exactly what it returned; shadow mode logs the
// treatment's ranking and never returns it; POST /v1/exposures records the score card's exposures and answers
// 400 naming the field. Once with the embedded store, once with a real Redis, like the route tests.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { auditHistory } from '../src/audit/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../src/experiments/assignment.js';
import { experimentDefinitionSchema, type ExperimentDefinition } from '../src/experiments/definition.js';
import type { LeadProfile } from '../src/inputs/index.js';
import { fixedModelSource, loadServingModel, type ServingModel } from '../src/scoring/model-source.js';
import { repoRoot, seeded, syntheticLead, worklistLeadOf } from './api-test-kit.js';
import { modelWithBaseline, startKitSidecar, type KitSidecar, type KitResponse } from './monitoring-kit.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NOW = Date.now();
const definition: ExperimentDefinition = experimentDefinitionSchema.parse(
  JSON.parse(readFileSync(`${repoRoot}config/experiments/model-vs-rules.json`, 'utf8')),
);

let model: ServingModel;
let work: string;
let modelDir: string;

beforeAll(async () => {
  const trained = await modelWithBaseline(2000);
  work = trained.work;
  modelDir = trained.dir;
  model = await loadServingModel(trained.dir);
}, 120_000);

afterAll(async () => {
  await model?.close();
  await rm(work, { recursive: true, force: true });
});

const repId = (n: number) => `005${String(n).padStart(12, '0')}`;

/** The first rep ids whose bucket puts them in the given arm at the share. */
function repsIn(salt: string, arm: 'control' | 'treatment', share: number, count: number): string[] {
  const out: string[] = [];
  for (let n = 1; out.length < count; n++) {
    const inTreatment = bucketOf(salt, repId(n)) < share;
    if (inTreatment === (arm === 'treatment')) out.push(repId(n));
  }
  return out;
}

describe.each([
  { storeKind: 'in-process', redis: false },
  { storeKind: 'redis', redis: true },
])('experiments in the API with the $storeKind store', ({ redis }) => {
  const prefix = `lrtest-exp-${randomUUID().slice(0, 8)}`;
  const logLines: string[] = [];
  const responses: { path: string; method: string; status: number; json: unknown }[] = [];
  let kit: KitSidecar;
  let leads: LeadProfile[];
  const [treatmentRep] = repsIn(definition.salt, 'treatment', 0.5, 1);
  const [controlRep] = repsIn(definition.salt, 'control', 0.5, 1);

  const call = async (method: string, path: string, body?: unknown): Promise<KitResponse> => {
    const res = await kit.call(method, path, body);
    responses.push({ method, path, status: res.status, json: res.json });
    return res;
  };

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    kit = await startKitSidecar(
      redis ? { REDIS_URL, LEADRANK_REDIS_PREFIX: prefix, LEADRANK_BULLMQ_PREFIX: prefix } : {},
      { logger, models: { ...fixedModelSource(model), close: async () => {} } },
    );
    const rand = seeded(5);
    leads = Array.from({ length: 30 }, (_, i) => syntheticLead(50_000 + i, 'US', NOW, rand));
    await kit.sidecar.store.putLeads(leads);
    await kit.sidecar.worklistIndex!.upsert([
      ...leads.slice(0, 10).map((l) => worklistLeadOf(l, treatmentRep!)),
      ...leads.slice(10, 20).map((l) => worklistLeadOf(l, controlRep!)),
    ]);
  });

  afterAll(async () => {
    await kit?.stop();
    if (redis) {
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      await r.quit();
    }
  });

  it('serves the champion and records nothing while no experiment is live', async () => {
    const res = await call('GET', `/v1/worklists/${treatmentRep}`);
    expect(res.status).toBe(200);
    expect(res.json.experiment).toBeNull();
    expect(res.json.items.every((i: { source: string }) => i.source === 'model')).toBe(true);
    const exposure = await call('POST', '/v1/exposures', {
      repId: treatmentRep,
      leadIds: [leads[0]!.Id],
      at: new Date().toISOString(),
    });
    expect(exposure.status).toBe(200);
    expect(exposure.json).toMatchObject({ recorded: false, experimentId: null, arm: null });
  });

  it("ranks a canary's treatment rep by the model and its control rep by the rules, recording what was shown", async () => {
    const svc = kit.sidecar.experiments;
    await svc.create(definition, 'test');
    await svc.startCanary(definition.id, 'test');
    while ((await svc.require(definition.id)).share < 0.5) await svc.widen(definition.id, 'test');
    expect(await svc.require(definition.id)).toMatchObject({ mode: 'canary', share: 0.5 });

    const treated = await call('GET', `/v1/worklists/${treatmentRep}`);
    expect(treated.status).toBe(200);
    expect(treated.json.experiment).toEqual({
      experimentId: definition.id,
      mode: 'canary',
      arm: 'treatment',
      ranking: 'model:champion',
    });
    const treatedItems = treated.json.items as { leadId: string; source: string; modelVersion: string }[];
    expect(treatedItems.length).toBe(10);
    expect(treatedItems.every((i) => i.source === 'model' && i.modelVersion === model.version)).toBe(true);

    const metricsBefore = (await call('GET', '/metrics')).text;
    const control = await call('GET', `/v1/worklists/${controlRep}`);
    expect(control.status).toBe(200);
    expect(control.json.experiment).toMatchObject({ arm: 'control', ranking: 'rules' });
    const controlItems = control.json.items as { leadId: string; source: string; probability: number }[];
    expect(controlItems.length).toBe(10);
    expect(controlItems.every((i) => i.source === 'rules')).toBe(true);
    // The rules arm is the rules by choice, not a fallback: the fallback counter does not move.
    const fallbacks = (text: string) =>
      Number(text.match(/leadrank_fallbacks_total\{reason="no_model"\} (\d+)/)?.[1] ?? 0);
    expect(fallbacks((await call('GET', '/metrics')).text)).toBe(fallbacks(metricsBefore));

    await svc.flush(); // exposures are queued by the route and written by the service's timer
    const exposures = await svc.store.leadExposures(definition.id);
    const byRep = (rep: string) =>
      exposures
        .filter((e) => e.repId === rep)
        .map((e) => e.leadId)
        .sort();
    expect(byRep(treatmentRep!)).toEqual(treatedItems.map((i) => i.leadId).sort());
    expect(byRep(controlRep!)).toEqual(controlItems.map((i) => i.leadId).sort());
    expect(new Set(exposures.filter((e) => e.repId === treatmentRep).map((e) => e.arm))).toEqual(
      new Set(['treatment']),
    );
    expect(new Set(exposures.filter((e) => e.repId === controlRep).map((e) => e.arm))).toEqual(
      new Set(['control']),
    );
    const units = await svc.store.unitExposures(definition.id);
    expect(units.find((u) => u.unitId === treatmentRep)).toMatchObject({
      arm: 'treatment',
      fallbackLeads: 0,
    });
  });

  it('records a score-card exposure for the live experiment, defaulting to it when no id is given', async () => {
    const leadId = leads[25]!.Id;
    const res = await call('POST', '/v1/exposures', {
      repId: treatmentRep,
      leadIds: [leadId],
      at: new Date().toISOString(),
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ recorded: true, experimentId: definition.id, arm: 'treatment' });
    await kit.sidecar.experiments.flush();
    const row = (await kit.sidecar.experiments.store.leadExposures(definition.id)).find(
      (e) => e.leadId === leadId,
    );
    expect(row).toMatchObject({ repId: treatmentRep, arm: 'treatment' });
  });

  it('answers 400 naming the field, 404 for an unknown experiment, 415 when not JSON', async () => {
    const at = new Date().toISOString();
    const tooMany = Array.from({ length: 201 }, (_, i) => leads[i % leads.length]!.Id);
    const cases: [unknown, string][] = [
      [{ leadIds: [leads[0]!.Id], at }, 'repId'],
      [{ repId: treatmentRep, leadIds: tooMany, at }, 'leadIds'],
      [{ repId: treatmentRep, leadIds: ['not-a-lead'], at }, 'leadIds[0]'],
      [{ repId: treatmentRep, leadIds: [leads[0]!.Id], at: 'yesterday' }, 'at'],
      [{ repId: treatmentRep, leadIds: [leads[0]!.Id], at, experimentId: 'Bad Id' }, 'experimentId'],
      [
        { repId: treatmentRep, leadIds: [leads[0]!.Id], fallbackLeadIds: [leads[1]!.Id], at },
        'fallbackLeadIds[0]',
      ],
    ];
    for (const [body, path] of cases) {
      const res = await call('POST', '/v1/exposures', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.issues[0].path).toBe(path);
    }
    const unknown = await call('POST', '/v1/exposures', {
      experimentId: 'no-such-experiment',
      repId: treatmentRep,
      leadIds: [leads[0]!.Id],
      at,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('experiment_not_found');
    const notJson = await kit.call('POST', '/v1/exposures', 'repId=x', { 'content-type': 'text/plain' });
    expect(notJson.status).toBe(415);
  });

  it('in shadow mode shows the control, logs the treatment ranking (ids and scores only) and never returns it', async () => {
    const svc = kit.sidecar.experiments;
    await svc.revert(definition.id, 'test', 'next test');
    const shadowDef = { ...definition, id: 'shadow-model-vs-rules', salt: 'shadow-model-vs-rules-salt' };
    await svc.create(shadowDef, 'test');
    const rep = treatmentRep!;
    const res = await call('GET', `/v1/worklists/${rep}`);
    expect(res.status).toBe(200);
    expect(res.json.experiment).toEqual({
      experimentId: shadowDef.id,
      mode: 'shadow',
      arm: 'control',
      ranking: 'rules',
    });
    const items = res.json.items as { leadId: string; source: string }[];
    expect(items.every((i) => i.source === 'rules')).toBe(true);
    expect(res.text).not.toMatch(/shadow":\s*\[/);
    await svc.flush();
    expect(await svc.store.leadExposures(shadowDef.id)).toEqual([]);

    await expect
      .poll(() => logLines.find((l) => l.includes('"shadow ranking"') && l.includes(res.json.requestId)), {
        timeout: 10_000,
      })
      .toBeDefined();
    const line = logLines.find((l) => l.includes('"shadow ranking"') && l.includes(res.json.requestId))!;
    const entry = JSON.parse(line) as {
      experimentId: string;
      shown: string[];
      shadow: { leadId: string; score: number; source: string; rank: number }[];
    };
    expect(entry.experimentId).toBe(shadowDef.id);
    expect(entry.shown).toEqual(items.map((i) => i.leadId));
    expect(entry.shadow.map((s) => s.leadId).sort()).toEqual([...entry.shown].sort());
    expect(entry.shadow.every((s) => s.source === 'model')).toBe(true);
    // No PII: names, emails and companies of the leads appear in no log line.
    const mine = leads.slice(0, 10);
    for (const l of logLines)
      for (const lead of mine) {
        expect(l).not.toContain(lead.Email!);
        expect(l).not.toContain(`"${lead.Company}"`);
      }
  });

  it('documents the worklist and exposure answers in the OpenAPI document', async () => {
    const doc = (await kit.call('GET', '/openapi.json')).json as object;
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema(doc, 'openapi.json');
    const ptr = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
    const routes: Record<string, string> = {
      '/v1/exposures': '/v1/exposures',
      '/v1/worklists/': '/v1/worklists/{repId}',
    };
    let checked = 0;
    for (const r of responses) {
      const route = Object.entries(routes).find(([p]) => r.path.startsWith(p))?.[1];
      if (!route || r.json === null) continue;
      const validate = ajv.compile({
        $ref: `openapi.json#/paths/${ptr(route)}/${r.method.toLowerCase()}/responses/${r.status}/content/${ptr('application/json')}/schema`,
      });
      expect(validate(r.json), `${r.method} ${r.path} ${r.status}: ${ajv.errorsText(validate.errors)}`).toBe(
        true,
      );
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });
});

describe('shadow scoring on POST /v1/score', () => {
  it('scores each request with the challenger too, logs and audits it as shadow, and answers with the champion only', async () => {
    const logLines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
    const auditDir = join(work, `audit-shadow-${randomUUID().slice(0, 8)}`);
    const kit = await startKitSidecar(
      { LEADRANK_MODEL_DIR: modelDir, LEADRANK_CHALLENGER_MODEL_DIR: modelDir, LEADRANK_AUDIT_DIR: auditDir },
      { logger, models: { ...fixedModelSource(model), close: async () => {} } },
    );
    try {
      const rand = seeded(9);
      const leads = Array.from({ length: 3 }, (_, i) => syntheticLead(70_000 + i, 'US', NOW, rand));
      await kit.sidecar.store.putLeads(leads);
      const body = { leads: leads.map((l) => ({ id: l.Id })) };
      const before = await kit.call('POST', '/v1/score', body);
      expect(before.status).toBe(200);

      const challenger = experimentDefinitionSchema.parse(
        JSON.parse(readFileSync(`${repoRoot}config/experiments/champion-vs-challenger.json`, 'utf8')),
      );
      expect((await kit.sidecar.experiments.create(challenger, 'test')).mode).toBe('shadow');
      const res = await kit.call('POST', '/v1/score', body);
      expect(res.status).toBe(200);
      const shown = res.json.scores as { leadId: string; score: number; source: string }[];
      expect(shown.map((s) => s.leadId)).toEqual(leads.map((l) => l.Id));
      expect(res.text).not.toContain('shadow');

      const isShadowLine = (l: string, requestId: string) =>
        l.includes('"shadow scores"') && l.includes(requestId);
      await expect
        .poll(() => logLines.find((l) => isShadowLine(l, res.json.requestId)), { timeout: 10_000 })
        .toBeDefined();
      const entry = JSON.parse(logLines.find((l) => isShadowLine(l, res.json.requestId))!) as {
        experimentId: string;
        shown: { leadId: string; score: number }[];
        shadow: { leadId: string; score: number; source: string }[];
      };
      expect(entry.experimentId).toBe(challenger.id);
      expect(entry.shown.map((s) => s.score)).toEqual(shown.map((s) => s.score));
      expect(entry.shadow.map((s) => s.leadId)).toEqual(leads.map((l) => l.Id));
      expect(entry.shadow.every((s) => s.source === 'model')).toBe(true);
      expect(logLines.some((l) => isShadowLine(l, before.json.requestId))).toBe(false);

      // Audited like any score, with a caller that says nobody was shown it.
      const callers = async () => {
        // Read through the subjects' keys: the request id is sealed on disk.
        const lines: { requestId: string; caller: string }[] = [];
        for (const lead of leads) for await (const e of auditHistory(auditDir, lead.Id)) lines.push(e);
        return lines.filter((e) => e.requestId === res.json.requestId).map((e) => e.caller);
      };
      await expect.poll(async () => (await callers()).length, { timeout: 10_000 }).toBe(6);
      const byCaller = await callers();
      expect(byCaller.filter((c) => c.endsWith(' [shadow]'))).toHaveLength(3);
    } finally {
      await kit.stop();
    }
  });
});
