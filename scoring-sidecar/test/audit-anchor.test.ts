// The audit log against an attacker who can write the audit directory (but not the anchor store, and not the
// signing key): every tampering in the table is told by `verify` with the public key; the untouched log
// verifies. The log has a region chain over two days and two worker chains (`serve --workers 2`).
import { mkdir, mkdtemp, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  anchorAuditLog,
  auditHistory,
  featureHash,
  generateAnchorKeyPair,
  localEd25519Signer,
  openAnchorStore,
  openAuditLog,
  publicKeyFromPem,
  verifyAuditLog,
  type AnchorStore,
  type AuditEntry,
  type VerifyResult,
} from '../src/audit/index.js';
import { hashOf, sealLine, type ChainLine } from '../src/audit/chain.js';
import { registerAuditCommands } from '../src/commands/audit.js';

const DAY1 = '2026-03-10';
const DAY2 = '2026-03-11';
const keys = generateAnchorKeyPair();
const signer = localEd25519Signer(keys.privateKeyPem);
const publicKey = publicKeyFromPem(keys.publicKeyPem);
let root: string;
let dir: string;
let anchorDir: string;
let store: AnchorStore;

function auditEntry(n: number, leadId = `00Q${String(n).padStart(12, '0')}AAA`): AuditEntry {
  const featureVector = [n, 1.5, null];
  return {
    requestId: `req-${n}`,
    caller: 'api',
    leadId,
    region: 'US',
    modelVersion: 'lgbm-2026-03-01',
    source: 'model',
    featureVector,
    featureHash: featureHash(featureVector, 'spec-1'),
    score: n,
    band: 'C',
    probability: 0.2,
    reasons: ['+ Opened 2 emails'],
    scoredAt: `2026-03-10T12:00:${String(n % 60).padStart(2, '0')}.000Z`,
  };
}

const US = () => join(dir, 'US');
const W = (i: number) => join(dir, `worker-${i}`, 'US');

/** A region chain (three segments on day 1, two on day 2) and two worker chains, anchored once. */
async function buildFixture(): Promise<void> {
  root = await mkdtemp(join(tmpdir(), 'leadrank-anchor-'));
  dir = join(root, 'audit');
  anchorDir = join(root, 'anchors');
  let now = new Date(`${DAY1}T12:00:00Z`);
  const log = await openAuditLog({ dir, region: 'US', maxSegmentBytes: 4300, clock: () => now });
  for (let n = 0; n < 15; n++) await log.append([auditEntry(n)]);
  now = new Date(`${DAY2}T08:00:00Z`);
  for (let n = 15; n < 25; n++) await log.append([auditEntry(n)]);
  await log.close();
  for (const w of [0, 1]) {
    const worker = await openAuditLog({ dir: join(dir, `worker-${w}`), region: 'US', clock: () => now });
    for (let n = 0; n < 4; n++) await worker.append([auditEntry(100 + 10 * w + n, 'LEAD-SHARED')]);
    await worker.close();
  }
  store = openAnchorStore({ auditDir: dir, anchorDir });
  const { checkpoint } = await anchorAuditLog({ dir, store, signer });
  expect(Object.keys(checkpoint.chains)).toEqual(['US', 'worker-0/US', 'worker-1/US']);
}

beforeEach(buildFixture);

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

const verifyAnchored = (): Promise<VerifyResult> => verifyAuditLog(dir, { anchors: { store, publicKey } });

async function segmentsOf(chain: string): Promise<string[]> {
  const out: string[] = [];
  for (const day of (await readdir(chain)).filter((d) => /^\d{4}-/.test(d)).sort())
    for (const f of (await readdir(join(chain, day))).sort()) out.push(join(chain, day, f));
  return out;
}

async function editLines(file: string, edit: (lines: string[]) => string[]): Promise<void> {
  const lines = (await readFile(file, 'utf8')).split('\n').slice(0, -1);
  await writeFile(file, `${edit(lines).join('\n')}\n`);
}

/** HEAD.json rewritten to the chain's current last line, as a careful attacker would. */
async function rewriteHead(chain: string): Promise<void> {
  const last = (await segmentsOf(chain)).at(-1)!;
  const lines = (await readFile(last, 'utf8')).split('\n').slice(0, -1);
  const line = JSON.parse(lines.at(-1)!) as ChainLine;
  const segment = last.slice(chain.length + 1);
  await writeFile(join(chain, 'HEAD.json'), JSON.stringify({ seq: line.seq, hash: line.hash, segment }));
}

/** Alters one score and recomputes every hash after it, across segments, and HEAD: internally consistent. */
async function recomputeChainAfterAltering(chain: string, seq: number): Promise<void> {
  let prev: string | null = null;
  for (const file of await segmentsOf(chain)) {
    await editLines(file, (lines) =>
      lines.map((text) => {
        const line = JSON.parse(text) as ChainLine;
        if (line.seq < seq) return text;
        const { hash: _old, seq: s, prev: p, ...body } = line;
        if (body.kind === 'score' && s === seq) body.entry = { ...body.entry, score: 99 };
        const sealed = sealLine(body, s, prev ?? p);
        prev = sealed.hash;
        return sealed.text.trimEnd();
      }),
    );
  }
  await rewriteHead(chain);
}

const seg = async (chain: string, i: number) => (await segmentsOf(chain)).at(i)!;

/** Each case: what the attacker does to the audit directory. */
const TAMPERING: [string, () => Promise<void>][] = [
  [
    'alter a line',
    async () =>
      editLines(await seg(US(), 1), (l) =>
        l.map((t, i) => (i === 2 ? t.replace('"score":', '"score":1') : t)),
      ),
  ],
  [
    'alter a line and recompute its hash',
    async () =>
      editLines(await seg(US(), 1), (l) =>
        l.map((t, i) => {
          if (i !== 2) return t;
          const { hash: _h, ...line } = JSON.parse(t) as ChainLine;
          if (line.kind === 'score') line.entry.score = 99;
          return JSON.stringify({ ...line, hash: hashOf(line) });
        }),
      ),
  ],
  [
    'alter a line and recompute the whole chain after it, HEAD.json included',
    () => recomputeChainAfterAltering(US(), 5),
  ],
  ['delete a line', async () => editLines(await seg(US(), 1), (l) => l.filter((_, i) => i !== 2))],
  [
    'insert a copy of a line',
    async () => editLines(await seg(US(), 1), (l) => [...l.slice(0, 3), l[2]!, ...l.slice(3)]),
  ],
  [
    'reorder two lines',
    async () => editLines(await seg(US(), 1), (l) => [l[0]!, l[1]!, l[3]!, l[2]!, ...l.slice(4)]),
  ],
  [
    'swap two lines across segments',
    async () => {
      const [a, b] = [await seg(US(), 0), await seg(US(), 1)];
      const la = (await readFile(a, 'utf8')).split('\n');
      const lb = (await readFile(b, 'utf8')).split('\n');
      [la[2], lb[2]] = [lb[2]!, la[2]!];
      await writeFile(a, la.join('\n'));
      await writeFile(b, lb.join('\n'));
    },
  ],
  [
    'swap two segments',
    async () => {
      const [a, b] = [await seg(US(), 0), await seg(US(), 1)];
      await rename(a, `${a}.tmp`);
      await rename(b, a);
      await rename(`${a}.tmp`, b);
    },
  ],
  [
    'tear the tail (cut mid-line)',
    async () => {
      const last = await seg(US(), -1);
      const text = await readFile(last, 'utf8');
      await truncate(last, Buffer.byteLength(text) - 10);
    },
  ],
  [
    'cut the tail at a line boundary, HEAD.json kept',
    async () => editLines(await seg(US(), -1), (l) => l.slice(0, -2)),
  ],
  [
    'cut the tail at a line boundary, HEAD.json rewritten',
    async () => {
      await editLines(await seg(US(), -1), (l) => l.slice(0, -2));
      await rewriteHead(US());
    },
  ],
  [
    'remove the last segment, HEAD.json rewritten',
    async () => {
      await rm(await seg(US(), -1));
      await rewriteHead(US());
    },
  ],
  ['remove a middle segment', async () => rm(await seg(US(), 1))],
  ['remove the first day', () => rm(join(US(), DAY1), { recursive: true })],
  [
    'remove the last day, HEAD.json rewritten',
    async () => {
      await rm(join(US(), DAY2), { recursive: true });
      await rewriteHead(US());
    },
  ],
  ['empty a segment file', async () => writeFile(await seg(US(), 2), '')],
  ['remove HEAD.json', () => rm(join(US(), 'HEAD.json'))],
  [
    'empty the region directory',
    async () => {
      for (const entry of await readdir(US())) await rm(join(US(), entry), { recursive: true });
    },
  ],
  ['delete the region directory', () => rm(US(), { recursive: true })],
  [
    'rewrite HEAD.json to another hash at its seq',
    async () => {
      const head = JSON.parse(await readFile(join(US(), 'HEAD.json'), 'utf8')) as { hash: string };
      await writeFile(join(US(), 'HEAD.json'), JSON.stringify({ ...head, hash: 'f'.repeat(64) }));
    },
  ],
  [
    'alter a line of a worker chain',
    async () =>
      editLines(await seg(W(1), 0), (l) =>
        l.map((t, i) => (i === 2 ? t.replace('"score":', '"score":1') : t)),
      ),
  ],
  [
    "cut a worker chain's tail, HEAD.json rewritten",
    async () => {
      await editLines(await seg(W(0), 0), (l) => l.slice(0, -1));
      await rewriteHead(W(0));
    },
  ],
  ['delete a worker folder', () => rm(join(dir, 'worker-1'), { recursive: true })],
  ['empty a worker folder', () => rm(W(0), { recursive: true })],
];

describe('verify with the public key against the signed checkpoint', () => {
  it('passes the untouched log: every chain, every entry', async () => {
    expect(await verifyAnchored()).toMatchObject({ ok: true, entries: 33, checkpoint: 1 });
    expect((await verifyAnchored()).chains.map((c) => c.chain)).toEqual(['US', 'worker-0/US', 'worker-1/US']);
  });

  it.each(TAMPERING)('detects: %s', async (_name, tamper) => {
    await tamper();
    const result = await verifyAnchored();
    expect(result.ok).toBe(false);
    expect(result.problem!.reason.length).toBeGreaterThan(0);
  });

  it('tells the tampering the chain alone cannot: a recomputed chain, a cut tail with HEAD rewritten, a removed folder', async () => {
    // Without the checkpoint these pass (internally consistent); with it they are named.
    const cases: [() => Promise<void>, RegExp][] = [
      [() => recomputeChainAfterAltering(US(), 5), /differs from the one the signed checkpoint anchored/],
      [
        async () => {
          await editLines(await seg(US(), -1), (l) => l.slice(0, -2));
          await rewriteHead(US());
        },
        /checkpoint anchored seq 30: the chain was cut/,
      ],
      [
        async () => {
          await rm(await seg(US(), -1));
          await rewriteHead(US());
        },
        /checkpoint anchored seq 30: the chain was cut/,
      ],
      [
        async () => {
          await rm(join(US(), DAY2), { recursive: true });
          await rewriteHead(US());
        },
        /checkpoint anchored seq 30: the chain was cut/,
      ],
      [() => rm(US(), { recursive: true }), /^US\/ .*missing: directory removed/],
      [() => rm(join(dir, 'worker-1'), { recursive: true }), /worker-1\/US.*missing: directory removed/],
    ];
    for (const [tamper, reason] of cases) {
      await tamper();
      expect((await verifyAuditLog(dir)).ok).toBe(true);
      const result = await verifyAnchored();
      expect(`${result.problem?.segment} ${result.problem?.reason}`).toMatch(reason);
      await rm(root, { recursive: true, force: true });
      await buildFixture();
    }
  });

  it('passes entries appended after the checkpoint, and anchors them in the next one', async () => {
    const log = await openAuditLog({ dir, region: 'US', clock: () => new Date(`${DAY2}T09:00:00Z`) });
    await log.append([auditEntry(40), auditEntry(41)]);
    await log.close();
    expect(await verifyAnchored()).toMatchObject({ ok: true, entries: 35, checkpoint: 1 });
    const { checkpoint } = await anchorAuditLog({ dir, store, signer });
    expect(checkpoint.number).toBe(2);
    expect(await verifyAnchored()).toMatchObject({ ok: true, entries: 35, checkpoint: 2 });
  });

  it('refuses to anchor a log that no longer matches its checkpoint', async () => {
    await editLines(await seg(US(), -1), (l) => l.slice(0, -2));
    await rewriteHead(US());
    await expect(anchorAuditLog({ dir, store, signer })).rejects.toThrow(/not anchored: .*chain was cut/);
    expect(await store.list()).toHaveLength(1);
  });

  it('anchors beside a writer in mid-write (a torn last line is the write in flight), not past it', async () => {
    const last = await seg(US(), -1);
    await writeFile(last, `${await readFile(last, 'utf8')}{"kind":"sco`);
    const { checkpoint } = await anchorAuditLog({ dir, store, signer });
    expect(checkpoint.chains.US!.seq).toBe(30);
  });
});

describe('the checkpoints themselves', () => {
  it('refuses a checkpoint signed with another key', async () => {
    const other = localEd25519Signer(generateAnchorKeyPair().privateKeyPem);
    const forged = openAnchorStore({ auditDir: dir, anchorDir: join(root, 'forged') });
    await anchorAuditLog({ dir, store: forged, signer: other });
    const result = await verifyAuditLog(dir, { anchors: { store: forged, publicKey } });
    expect(result.problem?.reason).toMatch(/checkpoint 1: signed by key/);
  });

  it('refuses an altered checkpoint, and a removed one', async () => {
    await anchorAuditLog({ dir, store, signer });
    const file1 = join(anchorDir, 'default', 'checkpoint-00000001.json');
    const original = await readFile(file1, 'utf8');
    await writeFile(file1, original.replace(/"seq":30/, '"seq":20'));
    expect((await verifyAnchored()).problem?.reason).toMatch(/signature does not verify/);
    await writeFile(file1, original);
    expect((await verifyAnchored()).ok).toBe(true);
    await rm(file1);
    expect((await verifyAnchored()).problem?.reason).toMatch(/checkpoint 2 where 1 was expected/);
  });

  it("refuses an anchor directory inside the audit directory (within the writer's reach)", () => {
    expect(() => openAnchorStore({ auditDir: dir, anchorDir: join(dir, 'anchors') })).toThrow(
      /inside the audit directory/,
    );
    expect(() => openAnchorStore({ auditDir: dir, anchorDir: dir })).toThrow(/inside the audit directory/);
  });

  it('keeps checkpoints in Redis when REDIS_URL is the anchor store', async () => {
    const redisStore = openAnchorStore({
      auditDir: dir,
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      redisPrefix: `test-anchor-${process.pid}-${Date.now()}`,
    });
    try {
      await anchorAuditLog({ dir, store: redisStore, signer });
      await anchorAuditLog({ dir, store: redisStore, signer });
      expect(await redisStore.list()).toHaveLength(2);
      const anchors = { store: redisStore, publicKey };
      expect(await verifyAuditLog(dir, { anchors })).toMatchObject({ ok: true, checkpoint: 2 });
      await rm(join(dir, 'worker-0'), { recursive: true });
      expect((await verifyAuditLog(dir, { anchors })).problem?.reason).toMatch(/missing/);
    } finally {
      const { Redis } = await import('ioredis');
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      const keysLeft = await redis.keys(`${redisStore.description.replace('Redis list ', '')}`);
      if (keysLeft.length > 0) await redis.del(...keysLeft);
      await redis.quit();
      await redisStore.close();
    }
  });
});

describe('reading every worker chain', () => {
  it('lists a lead scored by two workers from both chains', async () => {
    const rows: { chain: string; score: number }[] = [];
    for await (const e of auditHistory(dir, 'LEAD-SHARED')) rows.push({ chain: e.chain, score: e.score });
    expect(rows.filter((r) => r.chain === 'worker-0/US')).toHaveLength(4);
    expect(rows.filter((r) => r.chain === 'worker-1/US')).toHaveLength(4);
  });

  it('fails on an empty root, and passes a new region with no score yet', async () => {
    const empty = join(root, 'empty');
    await mkdir(empty);
    expect((await verifyAuditLog(empty)).problem?.reason).toMatch(/no audit chain/);
    const log = await openAuditLog({ dir: empty, region: 'EU' });
    await log.close();
    expect(await verifyAuditLog(empty)).toMatchObject({ ok: true, entries: 0 });
  });
});

describe('incremental anchoring', () => {
  it('anchors again and again while a writer appends (small segments rotating), then verifies', async () => {
    const log = await openAuditLog({
      dir,
      region: 'US',
      maxSegmentBytes: 4000,
      clock: () => new Date(`${DAY2}T10:00:00Z`),
    });
    const writes: Promise<void>[] = [];
    const checkpoints: number[] = [];
    for (let round = 0; round < 6; round++) {
      for (let n = 0; n < 20; n++) writes.push(log.append([auditEntry(1000 + round * 20 + n)]));
      checkpoints.push((await anchorAuditLog({ dir, store, signer })).checkpoint.number);
    }
    await Promise.all(writes);
    await log.close();
    expect(checkpoints).toEqual([2, 3, 4, 5, 6, 7]);
    expect(await verifyAnchored()).toMatchObject({ ok: true, entries: 33 + 120, checkpoint: 7 });
  });

  it('reads only from the last anchored line on: an earlier alteration is left to the full verify', async () => {
    const log = await openAuditLog({ dir, region: 'US', clock: () => new Date(`${DAY2}T09:00:00Z`) });
    await log.append([auditEntry(40), auditEntry(41)]);
    await log.close();
    // Before the anchored line: anchoring (incremental) does not read it; verify does.
    await editLines(await seg(US(), 0), (l) =>
      l.map((t, i) => (i === 2 ? t.replace('"score":', '"score":1') : t)),
    );
    const { checkpoint, result } = await anchorAuditLog({ dir, store, signer });
    expect(checkpoint.chains.US!.seq).toBe(32);
    expect(result.entries).toBe(2);
    expect((await verifyAnchored()).problem?.reason).toMatch(/altered/);
  });

  it('still refuses when the anchored line itself was rewritten', async () => {
    await recomputeChainAfterAltering(US(), 29);
    await expect(anchorAuditLog({ dir, store, signer })).rejects.toThrow(/anchored: rewritten/);
  });
});

describe('the leadrank audit commands', () => {
  async function run(args: string[]): Promise<{ out: string; err: string; exitCode: number | undefined }> {
    const out: string[] = [];
    const err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const error = vi
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    const before = process.exitCode;
    process.exitCode = undefined;
    try {
      const program = new Command('leadrank').exitOverride();
      registerAuditCommands(program);
      await program.parseAsync(args, { from: 'user' });
      return { out: out.join('\n'), err: err.join('\n'), exitCode: process.exitCode as number | undefined };
    } finally {
      process.exitCode = before;
      log.mockRestore();
      error.mockRestore();
    }
  }

  it('keygen, anchor and verify with the public key: exit 0, then 1 naming the removed worker chain', async () => {
    const prefix = join(root, 'keys');
    expect((await run(['audit', 'keygen', '--out', prefix])).exitCode).toBeUndefined();
    const cliAnchors = join(root, 'cli-anchors');
    const anchored = await run([
      'audit',
      'anchor',
      '--dir',
      dir,
      '--anchor-dir',
      cliAnchors,
      '--signing-key',
      `${prefix}.key`,
    ]);
    expect(anchored.exitCode).toBeUndefined();
    expect(anchored.out).toMatch(/^checkpoint 1 in directory .*: US@30, worker-0\/US@5, worker-1\/US@5/);
    const verifyArgs = [
      'audit',
      'verify',
      '--dir',
      dir,
      '--anchor-dir',
      cliAnchors,
      '--public-key',
      `${prefix}.pub`,
    ];
    const good = await run(verifyArgs);
    expect(good.exitCode).toBeUndefined();
    expect(good.out).toMatch(
      /^ok: 33 entries in 7 segments of 3 chains \(US, worker-0\/US, worker-1\/US\).*matches signed checkpoint 1/,
    );
    await rm(join(dir, 'worker-0'), { recursive: true });
    const bad = await run(verifyArgs);
    expect(bad.exitCode).toBe(1);
    expect(bad.err).toMatch(
      /^audit log NOT ok: worker-0\/US\/: chain anchored by checkpoint 1 \(seq 5\) is missing/,
    );
  });

  it("stats counts every chain's entries and bytes", async () => {
    const { out } = await run(['audit', 'stats', '--dir', dir]);
    const stats = JSON.parse(out.split('\n').at(-1)!) as {
      chains: number;
      scoreEntries: number;
      bytes: number;
    };
    expect(stats).toMatchObject({ chains: 3, scoreEntries: 33 });
    expect(stats.bytes).toBeGreaterThan(33 * 300);
  });
});
