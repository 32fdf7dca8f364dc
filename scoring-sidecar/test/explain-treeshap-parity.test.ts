// TreeSHAP parity with LightGBM itself: training/leadrank_training/shap_fixture.py trains small models (NaNs,
// categorical splits, values on thresholds, unseen/negative codes) and records predict(pred_contrib=True).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTreeExplainer, type TreeExplainer } from '../src/explain/index.js';
import { leadrankPython } from '../src/model/python.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOLERANCE = 1e-6;
const logger = pino({ level: 'silent' });

interface Fixture {
  featureNames: string[];
  rows: (number | null)[][];
  raw: number[];
  contributions: number[][];
}

interface DumpNode {
  split_feature?: number;
  decision_type?: string;
  missing_type?: string;
  left_child?: DumpNode;
  right_child?: DumpNode;
}

function splitKinds(modelFile: string): Set<string> {
  const kinds = new Set<string>();
  const walk = (n: DumpNode): void => {
    if (n.split_feature === undefined) return;
    kinds.add(`${n.decision_type} ${n.missing_type}`);
    walk(n.left_child!);
    walk(n.right_child!);
  };
  const dump = JSON.parse(readFileSync(modelFile, 'utf8')) as { tree_info: { tree_structure: DumpNode }[] };
  for (const t of dump.tree_info) walk(t.tree_structure);
  return kinds;
}

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leadrank-shap-'));
  const script = join(repoRoot, 'training', 'leadrank_training', 'shap_fixture.py');
  const run = (out: string, ...flags: string[]) =>
    execFileSync(leadrankPython(), [script, '--out', join(work, out), ...flags], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
  run('nan-missing');
  run('zero-missing', '--zero-as-missing', '--rows', '400', '--trees', '60');
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each([
  ['nan-missing', ['<= NaN', '<= None', '== NaN']],
  ['zero-missing', ['<= Zero', '== None']],
])('TreeSHAP against LightGBM pred_contrib (%s model)', (name, expectedKinds) => {
  let fixture: Fixture;
  let modelFile: string;
  let plain: TreeExplainer;
  let fast: TreeExplainer;
  let budgeted: TreeExplainer;

  beforeAll(() => {
    modelFile = join(work, name, 'model.json');
    fixture = JSON.parse(readFileSync(join(work, name, 'fixture.json'), 'utf8')) as Fixture;
    plain = loadTreeExplainer(modelFile, { algorithm: 'plain', logger });
    fast = loadTreeExplainer(modelFile, { algorithm: 'fast', maxTableFeatures: 4, logger });
    budgeted = loadTreeExplainer(modelFile, { logger }); // the serving default: tables as large as 32 MB allow
  });

  it('keeps its leaf tables within the memory budget it is given', () => {
    const small = loadTreeExplainer(modelFile, { tableBudgetBytes: 64 * 1024, logger });
    expect(small.tableBytes()).toBeLessThanOrEqual(64 * 1024);
    expect(budgeted.tableBytes()).toBeGreaterThan(small.tableBytes());
    expect(budgeted.tableBytes()).toBeLessThanOrEqual(32 * 2 ** 20);
    const row = fixture.rows[0]!;
    const a = small.explain(row);
    const b = budgeted.explain(row);
    a.forEach((v, j) => expect(Math.abs(v - b[j]!)).toBeLessThan(1e-12));
  });

  it('exercises the split kinds it claims to, and missing values', () => {
    const kinds = splitKinds(modelFile);
    for (const k of expectedKinds) expect(kinds).toContain(k);
    expect(fixture.rows.some((r) => r.includes(null))).toBe(true);
    expect(plain.featureNames).toEqual(fixture.featureNames);
  });

  it('predicts the raw score LightGBM predicts', () => {
    let maxDiff = 0;
    fixture.rows.forEach((row, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(plain.predictRaw(row) - fixture.raw[i]!));
    });
    expect(maxDiff).toBeLessThan(TOLERANCE);
  });

  it.each(['plain', 'fast', 'default'] as const)(
    '%s path: every contribution and the bias agree within 1e-6',
    (which) => {
      const explainer = which === 'plain' ? plain : which === 'fast' ? fast : budgeted;
      let maxDiff = 0;
      fixture.rows.forEach((row, i) => {
        const phi = explainer.explain(row);
        const expected = fixture.contributions[i]!;
        expect(phi).toHaveLength(expected.length);
        phi.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - expected[j]!))));
      });
      expect(maxDiff).toBeLessThan(TOLERANCE);
    },
  );

  it('fast path equals the plain path, single rows and batches alike', () => {
    const f = fixture.featureNames.length;
    const rows = new Float64Array(fixture.rows.length * f);
    fixture.rows.forEach((row, i) => row.forEach((v, j) => (rows[i * f + j] = v ?? NaN)));
    const fastBatch = fast.explainBatch(rows, fixture.rows.length);
    const plainBatch = plain.explainBatch(rows, fixture.rows.length);
    let maxDiff = 0;
    fixture.rows.forEach((row, i) => {
      const single = plain.explain(row);
      single.forEach((v, j) => {
        const k = i * (f + 1) + j;
        maxDiff = Math.max(maxDiff, Math.abs(fastBatch[k]! - v), Math.abs(plainBatch[k]! - v));
      });
    });
    expect(maxDiff).toBeLessThan(1e-12);
  });
});
