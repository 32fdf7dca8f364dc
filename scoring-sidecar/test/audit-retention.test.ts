// Retention of the audit log: expired segments are removed whole, only once a signed checkpoint covers them,
// and that checkpoint records where each chain now starts. `verify` with the public key passes afterwards and
// after more appends and anchorings; a head removed beyond the recorded start, a cut tail, or a rewritten start
// are still reported.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  anchorAuditLog,
  expireAuditSegments,
  featureHash,
  generateAnchorKeyPair,
  localEd25519Signer,
  openAnchorStore,
  openAuditLog,
  publicKeyFromPem,
  verifyAuditLog,
  type AnchorStore,
  type AuditEntry,
} from '../src/audit/index.js';

const keys = generateAnchorKeyPair();
const signer = localEd25519Signer(keys.privateKeyPem);
const publicKey = publicKeyFromPem(keys.publicKeyPem);
let dir: string;
let store: AnchorStore;
let now: Date;

function entry(n: number): AuditEntry {
  const featureVector = [n, 0.5];
  return {
    requestId: `req-${n}`,
    caller: 'api',
    leadId: `00Q${String(n).padStart(12, '0')}AAA`,
    region: 'EU',
    modelVersion: 'lgbm-1',
    source: 'model',
    featureVector,
    featureHash: featureHash(featureVector, 'spec-1'),
    score: n % 100,
    band: 'B',
    probability: 0.4,
    reasons: ['+ Visited pricing'],
    scoredAt: now.toISOString(),
  };
}

async function appendDays(days: string[], perDay: number, from = 0): Promise<number> {
  let n = from;
  const log = await openAuditLog({ dir, region: 'EU', maxSegmentBytes: 2000, clock: () => now });
  for (const day of days) {
    now = new Date(`${day}T10:00:00Z`);
    for (let i = 0; i < perDay; i++) await log.append([entry(n++)]);
  }
  await log.close();
  return n;
}

const verifyAnchored = () => verifyAuditLog(dir, { anchors: { store, publicKey } });
const days = async () => (await readdir(join(dir, 'EU'))).filter((d) => /^\d{4}/.test(d)).sort();

beforeEach(async () => {
  const root = await mkdtemp(join(tmpdir(), 'leadrank-audit-retention-'));
  dir = join(root, 'audit');
  store = openAnchorStore({ auditDir: dir, anchorDir: join(root, 'anchors') });
  await appendDays(['2026-01-01', '2026-01-02', '2026-01-03'], 12);
});

describe('audit segments under retention', () => {
  it('removes nothing before the log is anchored, nor on a dry run', async () => {
    const dry = await expireAuditSegments({
      dir,
      store,
      signer,
      cutoff: new Date('2026-01-03T00:00:00Z'),
      dryRun: true,
    });
    expect(dry.chains).toEqual([]); // never anchored: nothing is covered
    await anchorAuditLog({ dir, store, signer });
    const planned = await expireAuditSegments({
      dir,
      store,
      signer,
      cutoff: new Date('2026-01-03T00:00:00Z'),
      dryRun: true,
    });
    expect(planned.chains).toHaveLength(1);
    expect(planned.chains[0]!.segments.every((s) => s < '2026-01-03')).toBe(true);
    expect(planned.checkpoint).toBeNull();
    expect(await days()).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  });

  it('removes the expired days whole, and verify with the checkpoint still passes, also after more appends', async () => {
    const before = await verifyAuditLog(dir);
    expect(before.entries).toBe(36);
    const expiry = await expireAuditSegments({
      dir,
      store,
      signer,
      cutoff: new Date('2026-01-03T00:00:00Z'),
    });
    expect(expiry.checkpoint).toBe(2); // one anchoring of the log as it stood, one recording the new start
    expect(await days()).toEqual(['2026-01-03']);
    const [chain] = expiry.chains;
    expect(chain!.base.segment).toBe('2026-01-03/segment-000001.ndjson');
    const after = await verifyAnchored();
    expect(after.problem).toBeUndefined();
    expect(after.ok).toBe(true);
    expect(after.entries).toBe(12);
    // Chain-only verification cannot tell an expired head from a removed one: it reports it.
    expect((await verifyAuditLog(dir)).ok).toBe(false);

    // More scores, more anchorings: the start is carried by every later checkpoint.
    now = new Date('2026-01-04T10:00:00Z');
    await appendDays(['2026-01-04'], 5, 36);
    await anchorAuditLog({ dir, store, signer });
    const later = await verifyAnchored();
    expect(later.ok).toBe(true);
    expect(later.entries).toBe(17);
    // A second expiry moves the start forward.
    const again = await expireAuditSegments({ dir, store, signer, cutoff: new Date('2026-01-04T00:00:00Z') });
    expect(again.chains[0]!.base.seq).toBeGreaterThan(chain!.base.seq);
    expect((await verifyAnchored()).ok).toBe(true);
    expect(await days()).toEqual(['2026-01-04']);
  });

  it('still reports a head removed beyond the recorded start, a cut tail and a rewritten start', async () => {
    await expireAuditSegments({ dir, store, signer, cutoff: new Date('2026-01-03T00:00:00Z') });
    const segments = (await readdir(join(dir, 'EU', '2026-01-03'))).sort();
    expect(segments.length).toBeGreaterThan(1);
    const first = join(dir, 'EU', '2026-01-03', segments[0]!);
    const saved = await readFile(first, 'utf8');

    await rm(first); // one more segment than expired
    const beyond = await verifyAnchored();
    expect(beyond.ok).toBe(false);
    expect(beyond.problem!.reason).toMatch(
      /segment numbers of 2026-01-03 jump|neither at 1 nor where the signed checkpoint says/,
    );
    await writeFile(first, saved);

    // Cut the tail and rewrite HEAD.json: the anchored seq is no longer reached.
    const last = join(dir, 'EU', '2026-01-03', segments.at(-1)!);
    const text = await readFile(last, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    await writeFile(last, `${lines.slice(0, -2).join('\n')}\n`);
    const cut = JSON.parse(lines.at(-3)!) as { seq: number; hash: string };
    await writeFile(
      join(dir, 'EU', 'HEAD.json'),
      JSON.stringify({ seq: cut.seq, hash: cut.hash, segment: `2026-01-03/${segments.at(-1)!}` }),
    );
    const tail = await verifyAnchored();
    expect(tail.ok).toBe(false);
    expect(tail.problem!.reason).toMatch(/the chain was cut|before the anchored seq/);
  });

  it('does not remove the segment holding the anchored line nor the last one', async () => {
    await anchorAuditLog({ dir, store, signer });
    // Everything is older than a cutoff in the future: only the last segment (the anchored one) stays.
    const expiry = await expireAuditSegments({
      dir,
      store,
      signer,
      cutoff: new Date('2026-02-01T00:00:00Z'),
    });
    expect(expiry.chains).toHaveLength(1);
    expect(await days()).toEqual(['2026-01-03']);
    expect((await readdir(join(dir, 'EU', '2026-01-03'))).filter((f) => f.endsWith('.ndjson'))).toHaveLength(
      1,
    );
    expect((await verifyAnchored()).ok).toBe(true);
  });
});
