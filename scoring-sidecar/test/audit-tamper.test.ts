// verifyAuditLog against each kind of tampering: every one is found and named by segment and line.
import { mkdtemp, readFile, readdir, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  featureHash,
  openAuditLog,
  verifyAuditLog,
  type AuditEntry,
} from '../src/audit/index.js';
import { createHash } from 'node:crypto';

const DAY1 = '2026-03-10';
const DAY2 = '2026-03-11';
let dir: string;
let region: string;

function auditEntry(n: number): AuditEntry {
  const featureVector = [n, 1.5, null];
  return {
    requestId: `req-${n}`,
    caller: 'api',
    leadId: `00Q${String(n).padStart(12, '0')}AAA`,
    region: 'US',
    modelVersion: 'lgbm-2026-03-01',
    source: 'model',
    featureVector,
    featureHash: featureHash(featureVector, 'spec-1'),
    score: n,
    band: 'C',
    probability: 0.2,
    reasons: ['+ Opened 2 emails'],
    scoredAt: '2026-03-10T12:00:00.000Z',
  };
}

/** Three segments on day 1, two on day 2. */
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadrank-tamper-'));
  region = join(dir, 'US');
  let now = new Date(`${DAY1}T12:00:00Z`);
  const log = await openAuditLog({ dir, region: 'US', maxSegmentBytes: 4300, clock: () => now });
  for (let n = 0; n < 15; n++) await log.append([auditEntry(n)]);
  now = new Date(`${DAY2}T08:00:00Z`);
  for (let n = 15; n < 25; n++) await log.append([auditEntry(n)]);
  await log.close();
  expect(await segments()).toEqual([
    `${DAY1}/segment-000001.ndjson`,
    `${DAY1}/segment-000002.ndjson`,
    `${DAY1}/segment-000003.ndjson`,
    `${DAY2}/segment-000001.ndjson`,
    `${DAY2}/segment-000002.ndjson`,
  ]);
  expect(await verifyAuditLog(dir)).toMatchObject({ ok: true, entries: 25, segments: 5 });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function segments(): Promise<string[]> {
  const out: string[] = [];
  for (const day of (await readdir(region)).filter((d) => d.startsWith('2026')).sort())
    for (const f of (await readdir(join(region, day))).sort()) out.push(`${day}/${f}`);
  return out;
}

async function editLines(segment: string, edit: (lines: string[]) => string[]): Promise<void> {
  const file = join(region, segment);
  const lines = (await readFile(file, 'utf8')).split('\n').slice(0, -1);
  await writeFile(file, `${edit(lines).join('\n')}\n`);
}

async function expectProblem(segment: string, line: number, reason: RegExp): Promise<void> {
  const result = await verifyAuditLog(dir);
  expect(result.ok).toBe(false);
  expect(result.problem).toMatchObject({ segment: `US/${segment}`, line });
  expect(result.problem!.reason).toMatch(reason);
}

const MIDDLE = `${DAY1}/segment-000002.ndjson`;
const LAST = `${DAY2}/segment-000002.ndjson`;

describe('tampering with lines', () => {
  it('finds an altered line', async () => {
    await editLines(MIDDLE, (l) => l.map((t, i) => (i === 2 ? t.replace('"score":', '"score":1') : t)));
    await expectProblem(MIDDLE, 3, /altered/);
  });

  it('finds an altered line whose own hash was recomputed: the next line no longer links', async () => {
    await editLines(MIDDLE, (lines) =>
      lines.map((text, i) => {
        if (i !== 2) return text;
        const { hash: _old, ...line } = JSON.parse(text) as { hash: string; entry: { score: number } };
        line.entry.score = 100;
        const hash = createHash('sha256').update(canonicalJson(line)).digest('hex');
        return canonicalJson({ ...line, hash });
      }),
    );
    await expectProblem(MIDDLE, 4, /chain broken/);
  });

  it('finds a removed line', async () => {
    await editLines(MIDDLE, (l) => l.filter((_, i) => i !== 2));
    await expectProblem(MIDDLE, 3, /missing, inserted or reordered/);
  });

  it('finds an inserted line', async () => {
    await editLines(MIDDLE, (l) => [...l.slice(0, 3), l[2]!, ...l.slice(3)]);
    await expectProblem(MIDDLE, 4, /missing, inserted or reordered/);
  });

  it('finds reordered lines', async () => {
    await editLines(MIDDLE, (l) => [l[0]!, l[1]!, l[3]!, l[2]!, ...l.slice(4)]);
    await expectProblem(MIDDLE, 3, /missing, inserted or reordered/);
  });

  it('finds a line that is not JSON', async () => {
    await editLines(MIDDLE, (l) => l.map((t, i) => (i === 1 ? t.slice(0, 40) : t)));
    await expectProblem(MIDDLE, 2, /not valid JSON/);
  });
});

describe('tampering with segments', () => {
  it('finds a removed middle segment', async () => {
    await rm(join(region, MIDDLE));
    await expectProblem(`${DAY1}/segment-000003.ndjson`, 0, /jump from 1 to 3/);
  });

  it('finds a removed middle segment even when the later ones are renumbered', async () => {
    await rm(join(region, MIDDLE));
    await rename(join(region, DAY1, 'segment-000003.ndjson'), join(region, MIDDLE));
    await expectProblem(MIDDLE, 1, /missing, inserted or reordered/);
  });

  it('finds a renamed segment', async () => {
    await rename(
      join(region, `${DAY1}/segment-000003.ndjson`),
      join(region, `${DAY1}/segment-000004.ndjson`),
    );
    await expectProblem(`${DAY1}/segment-000004.ndjson`, 0, /jump from 2 to 4/);
  });

  it('finds segments moved to another day', async () => {
    await rename(join(region, DAY2), join(region, '2026-03-12'));
    await expectProblem(
      '2026-03-12/segment-000001.ndjson',
      1,
      /header names 2026-03-11\/segment-000001.ndjson/,
    );
  });

  it('finds a middle segment truncated at a line boundary', async () => {
    await editLines(MIDDLE, (l) => l.slice(0, -2));
    await expectProblem(`${DAY1}/segment-000003.ndjson`, 1, /missing, inserted or reordered/);
  });

  it('finds a segment truncated mid-line', async () => {
    const file = join(region, MIDDLE);
    const text = await readFile(file, 'utf8');
    await truncate(file, Buffer.byteLength(text) - 10);
    await expectProblem(MIDDLE, text.split('\n').length - 1, /torn last line/);
  });

  it('finds the last segment truncated at a line boundary (against HEAD)', async () => {
    await editLines(LAST, (l) => l.slice(0, -1));
    await expectProblem(LAST, 0, /HEAD\.json records seq/);
  });

  it('finds the last segment removed (against HEAD)', async () => {
    await rm(join(region, LAST));
    await expectProblem(`${DAY2}/segment-000001.ndjson`, 0, /HEAD\.json records seq/);
  });

  it('finds HEAD removed', async () => {
    await rm(join(region, 'HEAD.json'));
    await expectProblem('HEAD.json', 0, /HEAD\.json missing/);
  });

  it('finds a segment emptied', async () => {
    await writeFile(join(region, MIDDLE), '');
    await expectProblem(MIDDLE, 0, /empty segment/);
  });
});
