// `promtool test rules` over config/alerts/tests/: every alert has a case where it fires and one where it stays
// quiet, and those cases really depend on the rule: an alert made unable to fire fails its firing case, an
// alert made to fire always fails its quiet case (each rule mutated in a copy of the rule files).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const alertDir = join(root, 'config', 'alerts');
const testDir = join(alertDir, 'tests');
const promtool = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string }[] }[];
}
interface UnitTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

async function runPromtool(dir: string): Promise<{ ok: boolean; output: string }> {
  const files = (await readdir(join(dir, 'tests'))).filter((f) => f.endsWith('.test.yml')).sort();
  try {
    const { stdout, stderr } = await promisify(execFile)(
      promtool,
      ['test', 'rules', ...files.map((f) => join(dir, 'tests', f))],
      { timeout: 60_000 },
    );
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: unknown };
    if (typeof e.code !== 'number') throw error; // promtool missing or killed: not a rule failure
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

let ruleFiles: Map<string, RuleFile>;
let alerts: string[];

beforeAll(async () => {
  if (!existsSync(promtool))
    throw new Error(
      `promtool not found at ${promtool}: install Debian's prometheus package or set PROMTOOL_PATH`,
    );
  ruleFiles = new Map();
  for (const f of (await readdir(alertDir)).filter((n) => n.endsWith('.yml')))
    ruleFiles.set(f, parse(await readFile(join(alertDir, f), 'utf8')) as RuleFile);
  alerts = [...ruleFiles.values()].flatMap((d) => d.groups.flatMap((g) => g.rules.map((r) => r.alert)));
});

describe('alert rule unit tests (promtool test rules)', () => {
  it('pass', async () => {
    const run = await runPromtool(alertDir);
    expect(run.output).not.toContain('FAILED');
    expect(run.ok, run.output).toBe(true);
    expect(run.output.match(/SUCCESS/g)?.length).toBe(ruleFiles.size);
  });

  it('cover every rule file, and every alert with a firing case and a quiet case', async () => {
    const covered = new Set<string>();
    const firing = new Set<string>();
    const quiet = new Set<string>();
    for (const f of (await readdir(testDir)).filter((n) => n.endsWith('.test.yml'))) {
      const doc = parse(await readFile(join(testDir, f), 'utf8')) as UnitTestFile;
      for (const r of doc.rule_files) covered.add(r.replace(/^\.\.\//, ''));
      for (const t of doc.tests)
        for (const a of t.alert_rule_test ?? [])
          ((a.exp_alerts?.length ?? 0) > 0 ? firing : quiet).add(a.alertname);
    }
    expect([...covered].sort()).toEqual([...ruleFiles.keys()].sort());
    expect(alerts.length).toBeGreaterThanOrEqual(19);
    for (const a of alerts) {
      expect(firing.has(a), `${a} has no firing case`).toBe(true);
      expect(quiet.has(a), `${a} has no quiet case`).toBe(true);
    }
  });

  describe('catch a broken rule', () => {
    let work: string;
    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'alerts-mutated-'));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    /** Copies config/alerts with every alert's expression rewritten; runs promtool on the copy. */
    async function mutated(name: string, rewrite: (expr: string) => string) {
      const dir = join(work, name);
      await cp(alertDir, dir, { recursive: true });
      for (const [file, doc] of ruleFiles) {
        const copy = structuredClone(doc);
        for (const g of copy.groups) for (const r of g.rules) r.expr = rewrite(r.expr);
        await writeFile(join(dir, file), stringify(copy));
      }
      return runPromtool(dir);
    }

    /** promtool's failure blocks: the alert, and whether the failed case expected no alert (a quiet case). */
    function failures(output: string): { alert: string; quietCase: boolean }[] {
      return output
        .split(/alertname: /)
        .slice(1)
        .map((block) => ({
          alert: block.slice(0, block.indexOf(',')),
          quietCase: /exp:\[\],/.test(block.slice(0, block.indexOf('got:'))),
        }));
    }

    it('every alert made unable to fire fails a firing case', async () => {
      const run = await mutated('never', (e) => `(${e}) and on() (vector(0) > 1)`);
      expect(run.ok).toBe(false);
      const failed = failures(run.output);
      for (const a of alerts)
        expect(
          failed.some((f) => f.alert === a && !f.quietCase),
          `${a} made silent still passes its tests`,
        ).toBe(true);
    }, 60_000);

    it('every alert made to fire always fails a quiet case', async () => {
      const run = await mutated('always', (e) => `(${e}) or on() vector(1)`);
      expect(run.ok).toBe(false);
      const failed = failures(run.output);
      for (const a of alerts)
        expect(
          failed.some((f) => f.alert === a && f.quietCase),
          `${a} made always-firing still passes its tests`,
        ).toBe(true);
    }, 60_000);
  });
});
