// The audit log writer: chain, rotation, restart safety, history and the CLI.
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  auditHistory,
  featureHash,
  openAuditLog,
  verifyAuditLog,
  type AuditEntry,
  type AuditLog,
} from '../src/audit/index.js';
import { auditEntries, auditEntry, runAuditCommand } from './support/audit-kit.js';
import { hashOf, sealLine, type ChainBody } from '../src/audit/chain.js';
import { canonicalJson } from '../src/audit/entry.js';

const dirs: string[] = [];
const logs: AuditLog[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leadrank-audit-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(logs.splice(0).map((l) => l.close().catch(() => {})));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  vi.restoreAllMocks();
});

const entries = auditEntries;

async function openLog(dir: string, opts: { maxSegmentBytes?: number; clock?: () => Date } = {}) {
  const log = await openAuditLog({ dir, region: 'EU', ...opts });
  logs.push(log);
  return log;
}

const readLines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map(
      (l) => JSON.parse(l) as { seq: number; kind: string; prev: string; hash: string; [k: string]: unknown },
    );

describe('featureHash', () => {
  it('is stable and changes with any value or the spec', () => {
    const h = featureHash([1, 0.1, null], 'spec-1');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(featureHash([1, 0.1, null], 'spec-1')).toBe(h);
    expect(featureHash([1, 0.1, 0], 'spec-1')).not.toBe(h);
    expect(featureHash([1, 0.1000001, null], 'spec-1')).not.toBe(h);
    expect(featureHash([1, 0.1, null], 'spec-2')).not.toBe(h);
  });
});

describe('sealed lines', () => {
  it('are the canonical JSON of the line with its hash, for every kind of line', () => {
    const bodies: ChainBody[] = [
      { kind: 'segment', region: 'EU', segment: '2026-03-10/segment-000001.ndjson' },
      { kind: 'score', entry: auditEntry(7, { reasons: ['+ a "quoted" reason', '- ünïcode'] }) },
      {
        kind: 'recovery',
        recovery: { reason: 'torn tail', segment: 's', truncatedBytes: 12, droppedLines: 1, at: 'now' },
      },
    ];
    for (const body of bodies) {
      const sealed = sealLine(body, 42, 'f'.repeat(64));
      const line = JSON.parse(sealed.text) as Record<string, unknown>;
      expect(sealed.text).toBe(`${canonicalJson(line)}\n`);
      const { hash, ...unsealed } = line;
      expect(hash).toBe(sealed.hash);
      expect(sealed.hash).toBe(hashOf(unsealed as Parameters<typeof hashOf>[0]));
    }
  });
});

describe('appending', () => {
  it('chains lines across segments rotated by size, and verifies', async () => {
    const dir = await tempDir();
    const log = await openLog(dir, { maxSegmentBytes: 4096, clock: () => new Date('2026-03-10T12:00:00Z') });
    await Promise.all([log.append(entries(0, 20)), log.append(entries(20, 20))]);
    await log.append(entries(40, 10));
    await log.close();
    const files = (await readdir(join(dir, 'EU', '2026-03-10'))).sort();
    expect(files.length).toBeGreaterThan(3);
    expect(files[0]).toBe('segment-000001.ndjson');
    let prev = '0'.repeat(64);
    let seq = 0;
    for (const file of files) {
      const lines = await readLines(join(dir, 'EU', '2026-03-10', file));
      expect(lines[0]).toMatchObject({ kind: 'segment', region: 'EU', segment: `2026-03-10/${file}` });
      for (const line of lines) {
        expect(line.seq).toBe(++seq);
        expect(line.prev).toBe(prev);
        prev = line.hash;
      }
    }
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 50, segments: files.length });
  });

  it('rotates at each UTC day of its clock', async () => {
    const dir = await tempDir();
    let now = new Date('2026-03-10T23:59:59.500Z');
    const log = await openLog(dir, { clock: () => now });
    await log.append(entries(0, 3));
    now = new Date('2026-03-11T00:00:00.100Z');
    await log.append(entries(3, 2));
    await log.close();
    expect(await readdir(join(dir, 'EU', '2026-03-11'))).toEqual(['segment-000001.ndjson']);
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 5, segments: 2 });
  });

  it('refuses an entry with a field it does not know (no PII rides along), writing none of the batch', async () => {
    const dir = await tempDir();
    const log = await openLog(dir);
    const withEmail = { ...auditEntry(1), email: 'someone@example.com' } as AuditEntry;
    await expect(log.append([auditEntry(0), withEmail])).rejects.toThrow(/audit entry 1/);
    await expect(log.append([auditEntry(2, { probability: 1.5 })])).rejects.toThrow(/probability/);
    await log.append([auditEntry(3)]);
    await log.close();
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 1 });
  });

  it('rejects appends after close', async () => {
    const log = await openLog(await tempDir());
    await log.close();
    await expect(log.append([auditEntry(0)])).rejects.toThrow(/closed/);
  });
});

describe('commit and durability', () => {
  const headOf = async (dir: string) =>
    JSON.parse(await readFile(join(dir, 'EU', 'HEAD.json'), 'utf8')) as { seq: number; hash: string };

  it('replaces HEAD.json at most once per headIntervalMs, and flush() brings it up to date', async () => {
    const dir = await tempDir();
    const log = await openAuditLog({ dir, region: 'EU', headIntervalMs: 60_000 });
    logs.push(log);
    await log.append(entries(0, 2)); // first commit: HEAD written at once (segment header + 2 entries)
    expect((await headOf(dir)).seq).toBe(3);
    await log.append(entries(2, 2));
    await log.append(entries(4, 2));
    expect((await headOf(dir)).seq).toBe(3); // lagging behind the committed lines, never ahead
    await log.flush();
    const head = await headOf(dir);
    expect(head.seq).toBe(7);
    const day = (await readdir(join(dir, 'EU'))).find((d) => /^\d{4}-/.test(d))!;
    const lines = await readLines(join(dir, 'EU', day, 'segment-000001.ndjson'));
    expect(lines.at(-1)).toMatchObject({ seq: 7, hash: head.hash });
    await log.close();
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 6 });
  });

  it('with fsync "interval", an append resolves once its lines are written, and close leaves a sound chain', async () => {
    const dir = await tempDir();
    const log = await openAuditLog({ dir, region: 'EU', fsync: 'interval', maxUnsyncedMs: 50 });
    logs.push(log);
    await Promise.all([log.append(entries(0, 3)), log.append(entries(3, 3))]);
    const history = [];
    for await (const e of auditHistory(dir, auditEntry(0).leadId)) history.push(e);
    expect(history.length).toBeGreaterThan(0); // on the page cache: readable before any fdatasync was awaited
    for (let i = 6; i < 40; i++) await log.append([auditEntry(i)]);
    await log.close();
    expect((await headOf(dir)).seq).toBe(41);
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 40 });
    const reopened = await openLog(dir);
    await reopened.append(entries(40, 1));
    await reopened.close();
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 41 });
  });
});

describe('restart', () => {
  it('continues the chain from the last line', async () => {
    const dir = await tempDir();
    const first = await openLog(dir);
    await first.append(entries(0, 5));
    await first.close();
    const second = await openLog(dir);
    await second.append(entries(5, 5));
    await second.close();
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 10, segments: 1 });
  });

  it('truncates a torn last line and records the recovery in the chain', async () => {
    const dir = await tempDir();
    const clock = () => new Date('2026-03-10T12:00:00Z');
    const first = await openLog(dir, { clock });
    await first.append(entries(0, 4));
    await first.close();
    const segment = join(dir, 'EU', '2026-03-10', 'segment-000001.ndjson');
    await appendFile(segment, '{"seq":6,"kind":"score","entry":{"requestId":"re'); // a crash mid-write
    expect((await verifyAuditLog(dir)).problem?.reason).toMatch(/torn last line/);

    const second = await openLog(dir, { clock });
    await second.append(entries(4, 1));
    await second.close();
    const lines = await readLines(segment);
    expect(lines.map((l) => l.kind)).toEqual([
      'segment',
      'score',
      'score',
      'score',
      'score',
      'recovery',
      'score',
    ]);
    expect(lines[5]).toMatchObject({
      recovery: { segment: '2026-03-10/segment-000001.ndjson', droppedLines: 1, truncatedBytes: 48 },
    });
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 5 });
  });

  it('reopens a log that was opened and closed before its first entry (a restart with no traffic)', async () => {
    const dir = await tempDir();
    await (await openLog(dir)).close();
    const reopened = await openLog(dir);
    await reopened.append(entries(0, 2));
    await reopened.close();
    expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 2 });
  });

  it('refuses to open when HEAD is ahead of the data (lines lost)', async () => {
    const dir = await tempDir();
    const first = await openLog(dir);
    await first.append(entries(0, 3));
    await first.close();
    const head = JSON.parse(await readFile(join(dir, 'EU', 'HEAD.json'), 'utf8')) as { seq: number };
    await writeFile(join(dir, 'EU', 'HEAD.json'), JSON.stringify({ ...head, seq: head.seq + 2 }));
    await expect(openAuditLog({ dir, region: 'EU' })).rejects.toThrow(/HEAD says 6: lines are missing/);
  });
});

describe('history and CLI', () => {
  async function filledLog(): Promise<string> {
    const dir = await tempDir();
    const log = await openLog(dir, { maxSegmentBytes: 2048, clock: () => new Date('2026-03-10T12:00:00Z') });
    await log.append(entries(0, 12)); // leads 0…4, lead 2 at n = 2, 7, 12…
    await log.append([auditEntry(12, { source: 'rules', fallbackReason: 'model timeout', score: 17 })]);
    await log.close();
    return dir;
  }

  it("yields one lead's entries in log order with their seq", async () => {
    const dir = await filledLog();
    const history = [];
    for await (const e of auditHistory(dir, '00Q000000000002AAA')) history.push(e);
    expect(history.map((e) => e.requestId)).toEqual(['req-2', 'req-7', 'req-12']);
    expect(history.map((e) => e.seq)).toEqual([...history.map((e) => e.seq)].sort((a, b) => a - b));
    expect(history[2]).toMatchObject({ source: 'rules', fallbackReason: 'model timeout', score: 17 });
  });

  const run = runAuditCommand;

  it('audit show prints the history newest first with reasons', async () => {
    const dir = await filledLog();
    const { out, exitCode } = await run(['audit', 'show', '00Q000000000002AAA', '--dir', dir]);
    expect(exitCode).toBeUndefined();
    const rows = out.split('\n');
    expect(rows[0]).toMatch(/^SEQ\s+SCORED AT\s+SCORE\s+BAND\s+P\s+SOURCE\s+MODEL\s+NEXT ACTION$/);
    const dataRows = rows.filter((r) => /^\d/.test(r));
    expect(dataRows).toHaveLength(3);
    expect(dataRows[0]).toContain('rules (model timeout)');
    expect(dataRows[0]).toMatch(/\b17\b/);
    expect(rows[2]!.trim()).toBe('+ Visited pricing page 3 times');
  });

  it('audit verify exits 0 on a sound log and 1 naming segment and line on a problem', async () => {
    const dir = await filledLog();
    const good = await run(['audit', 'verify', '--dir', dir]);
    expect(good.exitCode).toBeUndefined();
    expect(good.out).toMatch(/^ok: 13 entries in \d+ segments/);

    const file = join(dir, 'EU', '2026-03-10');
    const segments = (await readdir(file)).sort();
    const target = join(file, segments[0]!);
    const lines = (await readFile(target, 'utf8')).split('\n');
    lines[2] = lines[2]!.replace(/"score":\d+/, '"score":99');
    await writeFile(target, lines.join('\n'));
    const bad = await run(['audit', 'verify', '--dir', dir]);
    expect(bad.exitCode).toBe(1);
    expect(bad.err).toBe(
      `audit log NOT ok: EU/2026-03-10/${segments[0]} line 3: hash does not match the line: altered`,
    );
  });
});
