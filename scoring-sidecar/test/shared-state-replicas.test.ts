// Two sidecar replicas sharing one PostgreSQL database (DATABASE_URL): they agree on every rep's arm, both
// record exposures into the same tables, and when a guardrail is breached and both run the guardrail check at
// once, exactly one halt is decided and recorded; afterwards both serve the control.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { experimentDefinitionSchema } from '../src/experiments/definition.js';
import { startServer } from '../src/server.js';
import { repoRoot } from './api-test-kit.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';

const SECRET = 'replica-secret';
const definition = experimentDefinitionSchema.parse(
  JSON.parse(readFileSync(join(repoRoot, 'config', 'experiments', 'model-vs-rules.json'), 'utf8')),
);
const reps = Array.from({ length: 40 }, (_, i) => `005${String(i + 1).padStart(15, '0')}`);

type Replica = Awaited<ReturnType<typeof startServer>> & { base: string; token: string; stateDir: string };

let db: TestDatabase;
let replicas: Replica[] = [];

async function startReplica(): Promise<Replica> {
  const stateDir = await mkdtemp(join(tmpdir(), 'replica-state-'));
  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      LEADRANK_RULES_ONLY: '1',
      LEADRANK_MODEL_DIR: join(stateDir, 'no-model'),
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: 'apex-us',
          clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
          region: 'US',
          name: 'Apex',
        },
      ]),
      LEADRANK_TOKEN_SIGNING_KEY: 'replica-signing-key-0123456789abcdef0123',
      LEADRANK_AUDIT_DIR: join(stateDir, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: stateDir,
    },
    { logger: pino({ level: 'silent' }) },
  );
  const base = `http://127.0.0.1:${started.port}`;
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=apex-us&client_secret=${SECRET}`,
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  return { ...started, base, token, stateDir };
}

async function expose(r: Replica, repId: string, leadIds: string[], fallbackLeadIds: string[] = []) {
  const res = await fetch(`${r.base}/v1/exposures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${r.token}` },
    body: JSON.stringify({ repId, leadIds, fallbackLeadIds, at: new Date().toISOString() }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { recorded: boolean; experimentId: string | null; arm: string | null };
}

beforeAll(async () => {
  db = await createTestDatabase('replicas');
  // Started together: both migrate the fresh database at once (the migrator's lock lets one do it).
  replicas = await Promise.all([startReplica(), startReplica()]);
}, 60_000);

afterAll(async () => {
  for (const r of replicas) {
    await r.stop();
    await rm(r.stateDir, { recursive: true, force: true });
  }
  await db?.drop();
});

describe('two sidecar replicas on one PostgreSQL database', () => {
  it('agree on arms, share exposures, and decide one guardrail halt between them', async () => {
    const [a, b] = replicas as [Replica, Replica];
    // The operator starts the canary through one replica (as the CLI would through the database).
    const svcA = a.sidecar.experiments;
    const svcB = b.sidecar.experiments;
    await svcA.create(definition, 'test');
    await svcA.startCanary(definition.id, 'test');
    while ((await svcA.require(definition.id)).share < 0.5) await svcA.widen(definition.id, 'test');
    // The other replica sees it on its next refresh (its timer; called here instead of waiting 10 s).
    await svcB.refreshActive();

    // Arms: each rep asks both replicas; the answers agree, and both arms are used.
    const arms = new Map<string, string>();
    for (const [i, rep] of reps.entries()) {
      const fromA = await expose(a, rep, [`00Q${String(2 * i).padStart(15, '0')}`]);
      const fromB = await expose(b, rep, [`00Q${String(2 * i + 1).padStart(15, '0')}`]);
      expect(fromA).toMatchObject({ recorded: true, experimentId: definition.id });
      expect(fromB.arm).toBe(fromA.arm);
      arms.set(rep, fromA.arm!);
    }
    expect(new Set(arms.values())).toEqual(new Set(['control', 'treatment']));

    // Exposures of both replicas land in the same tables (each replica writes its queue on its timer).
    await Promise.all([svcA.flush(), svcB.flush()]);
    const leads = await svcA.store.leadExposures(definition.id);
    expect(leads).toHaveLength(2 * reps.length);
    for (const e of leads) expect(e.arm).toBe(arms.get(e.repId));
    expect((await svcB.store.assignments(definition.id)).map((x) => x.unitId).sort()).toEqual(
      [...reps].sort(),
    );

    // Treatment reps now see their lists from the rules fallback: the fallback guardrail is breached.
    const treated = reps.filter((r) => arms.get(r) === 'treatment');
    for (const [i, rep] of treated.entries()) {
      const lead = `00Q9${String(i).padStart(14, '0')}`;
      await expose(i % 2 ? a : b, rep, [lead], [lead]);
    }
    // Both replicas' guardrail timers fire at once: one halt, recorded once.
    const [ra, rb] = await Promise.all([
      svcA.checkGuardrails(definition.id),
      svcB.checkGuardrails(definition.id),
    ]);
    expect(ra.report.guardrails.find((g) => g.name === 'fallback_share')?.breached).toBe(true);
    expect(rb.report.guardrails.find((g) => g.name === 'fallback_share')?.breached).toBe(true);
    expect([ra.halted, rb.halted].filter(Boolean)).toHaveLength(1);
    const events = await svcB.store.events(definition.id);
    expect(events.filter((e) => e.action === 'halt')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ action: 'halt', toMode: 'halted', share: 0 });

    // Both serve the control now: nothing more is recorded as exposure.
    await Promise.all([svcA.refreshActive(), svcB.refreshActive()]);
    for (const r of [a, b])
      expect(await expose(r, reps[0]!, ['00Q999999999999999'])).toMatchObject({
        recorded: false,
      });
  }, 120_000);
});
