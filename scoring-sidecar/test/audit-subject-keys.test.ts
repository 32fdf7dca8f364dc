// The directory key store is shared by every audit writer of a host (the serve workers, the batch worker, the
// CLI). Processes creating and reading the same subjects' keys at once must agree on one key per subject and on
// one pseudonym secret, and never read a file half-written: a key file created empty and then filled made a
// second serve worker fail a score request with "Unexpected end of JSON input" (HTTP 500).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDirectoryKeyStore } from '../src/audit/subject-keys.js';
import { repoRoot } from './api-test-kit.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const LEADS = Array.from({ length: 300 }, (_, i) => `00Q${String(i).padStart(15, '0')}`);

/** One writer process: pseudonyms and keys for every lead, each key asked for twice at once. */
function writer(dir: string, seed: number): Promise<{ code: number | null; out: string }> {
  const script = `
    const { openDirectoryKeyStore } = await import(${JSON.stringify(join(repoRoot, 'scoring-sidecar/src/audit/subject-keys.ts'))});
    const store = openDirectoryKeyStore(${JSON.stringify(dir)});
    const leads = ${JSON.stringify(LEADS)};
    const order = leads.map((l, i) => [((i + 1) * ${seed * 7919}) % 1009, l]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
    const result = {};
    await Promise.all(order.map(async (lead) => {
      const subject = await store.subjectOf(lead);
      const [a, b] = await Promise.all([store.keyFor(subject), store.existingKey(subject).then((k) => k ?? store.keyFor(subject))]);
      if (a.id !== b.id) throw new Error('two keys for one subject in one process');
      result[lead] = subject + ':' + a.id;
    }));
    console.log(JSON.stringify(result));
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('directory key store shared by several processes', () => {
  it('four processes creating the same keys at once agree on every pseudonym and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'subject-keys-'));
    dirs.push(dir);
    const runs = await Promise.all([1, 2, 3, 4].map((seed) => writer(dir, seed)));
    for (const r of runs)
      expect({ code: r.code, error: r.code === 0 ? '' : r.out.slice(0, 500) }).toEqual({
        code: 0,
        error: '',
      });
    const answers = runs.map((r) => JSON.parse(r.out.trim().split('\n').pop()!) as Record<string, string>);
    for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
    expect(new Set(Object.values(answers[0]!)).size).toBe(LEADS.length);
    // What the store holds afterwards is exactly one key file per subject, no temporary file left behind.
    const files = readdirSync(join(dir, 'keys'));
    expect(files.filter((f) => !/^[0-9a-f]{64}\.json$/.test(f))).toEqual([]);
    expect(files).toHaveLength(LEADS.length);
    // And a fresh reader finds the keys the writers agreed on.
    const store = openDirectoryKeyStore(dir);
    const [lead, value] = Object.entries(answers[0]!)[0]!;
    const subject = await store.subjectOf(lead);
    expect(`${subject}:${(await store.existingKey(subject))!.id}`).toBe(value);
  }, 120_000);

  it('an erasure replaces the tombstone whole and a later key is new', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'subject-keys-'));
    dirs.push(dir);
    const store = openDirectoryKeyStore(dir);
    const subject = await store.subjectOf(LEADS[0]!);
    const first = await store.keyFor(subject);
    const tomb = await store.destroy(
      subject,
      'er_000000000000000000000001',
      new Date('2026-12-01T00:00:00Z'),
    );
    expect(tomb).toEqual({
      keyIds: [first.id],
      erasedAt: '2026-12-01T00:00:00.000Z',
      receipt: 'er_000000000000000000000001',
    });
    expect(await store.existingKey(subject)).toBeNull();
    const second = await store.keyFor(subject);
    expect(second.id).not.toBe(first.id);
    await store.destroy(subject, 'er_000000000000000000000002', new Date('2026-12-02T00:00:00Z'));
    expect((await store.tombstone(subject))!.keyIds).toEqual([first.id, second.id]);
    expect(readdirSync(join(dir, 'erased'))).toEqual([`${subject}.json`]);
  });
});
