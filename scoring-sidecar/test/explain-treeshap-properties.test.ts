// TreeSHAP on random LightGBM-shaped trees: local accuracy, agreement with a brute-force Shapley oracle,
// fast path = plain path, zero for unused features; plus LightGBM's split semantics on hand-made trees.
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadTreeExplainer as load, type TreeExplainerOptions } from '../src/explain/index.js';

const logger = pino({ level: 'silent' });
const loadTreeExplainer = (dump: unknown, options: TreeExplainerOptions = {}) =>
  load(dump, { logger, ...options });

const FEATURES = 5;
const UNUSED = FEATURES - 1; // no generated split reads it

interface Leaf {
  leaf_value: number;
  leaf_count: number;
}
interface Split {
  split_feature: number;
  threshold: number | string;
  decision_type: '<=' | '==';
  default_left: boolean;
  missing_type: 'None' | 'Zero' | 'NaN';
  internal_count: number;
  left_child: Node;
  right_child: Node;
}
type Node = Leaf | Split;

const count = (n: Node) => ('leaf_count' in n ? n.leaf_count : n.internal_count);
const leaves = (n: Node): number => ('leaf_count' in n ? 1 : leaves(n.left_child) + leaves(n.right_child));

function dumpOf(trees: Node[], features = FEATURES) {
  return {
    name: 'tree',
    version: 'v4',
    num_class: 1,
    num_tree_per_iteration: 1,
    max_feature_idx: features - 1,
    objective: 'binary sigmoid:1',
    average_output: false,
    feature_names: Array.from({ length: features }, (_, i) => `x${i}`),
    tree_info: trees.map((t, i) => ({ tree_index: i, num_leaves: leaves(t), tree_structure: t })),
  };
}

const leafArb: fc.Arbitrary<Node> = fc.record({
  leaf_value: fc.double({ min: -2, max: 2, noNaN: true }),
  leaf_count: fc.integer({ min: 1, max: 60 }),
});

const splitRule = fc.oneof(
  fc.record({
    decision_type: fc.constant('<=' as const),
    threshold: fc.constantFrom(-1, -1e-35, 0, 1e-35, 0.5, 1, 2.5),
    missing_type: fc.constantFrom('None' as const, 'Zero' as const, 'NaN' as const),
    default_left: fc.boolean(),
  }),
  fc.record({
    decision_type: fc.constant('==' as const),
    // Codes above 31 put the set in a second bitset word.
    threshold: fc
      .uniqueArray(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 6 })
      .map((c) => c.join('||')),
    missing_type: fc.constantFrom('None' as const, 'NaN' as const),
    default_left: fc.constant(false),
  }),
);

const treeArb = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 6, depthSize: 'small', withCrossShrink: true },
    { arbitrary: leafArb, weight: 1 },
    {
      weight: 3,
      arbitrary: fc
        .record({
          rule: splitRule,
          split_feature: fc.integer({ min: 0, max: UNUSED - 1 }),
          left_child: tie('node'),
          right_child: tie('node'),
        })
        .map(({ rule, split_feature, left_child, right_child }): Node => ({
          ...rule,
          split_feature,
          internal_count: count(left_child) + count(right_child),
          left_child,
          right_child,
        })),
    },
  ),
})).node;

const valueArb = fc.oneof(
  fc.constant(null),
  fc.constantFrom(0, -0, 1e-36, -1, -1e-35, 1e-35, 0.5, 1, 2.5, 3, 3.7, -0.5, 33, 40, 64),
  fc.double({ min: -3, max: 45, noNaN: true }),
);
const rowArb = fc.array(valueArb, { minLength: FEATURES, maxLength: FEATURES });

/** LightGBM's decision, written independently of the module under test. */
function goesLeft(n: Split, raw: number | null): boolean {
  const x = raw === null ? NaN : Math.abs(raw) <= Math.fround(1e-35) ? 0 : raw;
  if (n.decision_type === '==') {
    if (Number.isNaN(x) || Math.trunc(x) < 0) return false;
    return String(n.threshold).split('||').map(Number).includes(Math.trunc(x));
  }
  if (n.missing_type === 'NaN' && Number.isNaN(x)) return n.default_left;
  const v = Number.isNaN(x) ? 0 : x;
  if (n.missing_type === 'Zero' && v === 0) return n.default_left;
  return v <= (n.threshold as number);
}

/** E[f(x) | x_S] under the tree's path-dependent distribution (TreeSHAP paper, Algorithm 1). */
function expectation(n: Node, row: (number | null)[], known: number): number {
  if ('leaf_value' in n) return n.leaf_value;
  if (known & (1 << n.split_feature)) {
    return expectation(goesLeft(n, row[n.split_feature]!) ? n.left_child : n.right_child, row, known);
  }
  const total = n.internal_count;
  return (
    (count(n.left_child) / total) * expectation(n.left_child, row, known) +
    (count(n.right_child) / total) * expectation(n.right_child, row, known)
  );
}

/** Shapley values by enumerating every coalition: exponential, fine for 5 features. */
function bruteForceShap(trees: Node[], row: (number | null)[]): number[] {
  const fact = (k: number): number => (k <= 1 ? 1 : k * fact(k - 1));
  const value = (set: number) => trees.reduce((s, t) => s + expectation(t, row, set), 0);
  const phi = new Array<number>(FEATURES + 1).fill(0);
  for (let i = 0; i < FEATURES; i++) {
    for (let set = 0; set < 1 << FEATURES; set++) {
      if (set & (1 << i)) continue;
      let size = 0;
      for (let b = set; b; b &= b - 1) size++;
      const weight = (fact(size) * fact(FEATURES - size - 1)) / fact(FEATURES);
      phi[i]! += weight * (value(set | (1 << i)) - value(set));
    }
  }
  phi[FEATURES] = value(0);
  return phi;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * (1 + Math.abs(b));

describe('TreeSHAP properties on random trees', () => {
  const modelArb = fc.array(treeArb, { minLength: 1, maxLength: 4 });

  it('contributions sum to the raw prediction (local accuracy), on both paths', () => {
    fc.assert(
      fc.property(modelArb, rowArb, fc.integer({ min: 0, max: 8 }), (trees, row, maxTableFeatures) => {
        const dump = dumpOf(trees);
        for (const explainer of [
          loadTreeExplainer(dump, { algorithm: 'plain' }),
          loadTreeExplainer(dump, { algorithm: 'fast', maxTableFeatures }),
        ]) {
          const sum = explainer.explain(row).reduce((s, v) => s + v, 0);
          expect(close(sum, explainer.predictRaw(row))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('equals the Shapley values of the path-dependent expectation (brute force)', () => {
    fc.assert(
      fc.property(modelArb, rowArb, (trees, row) => {
        const phi = loadTreeExplainer(dumpOf(trees), { algorithm: 'plain' }).explain(row);
        bruteForceShap(trees, row).forEach((expected, j) => expect(close(phi[j]!, expected)).toBe(true));
      }),
      { numRuns: 200 },
    );
  });

  it('fast path equals the plain path, whatever the table size limit', () => {
    fc.assert(
      fc.property(
        modelArb,
        fc.array(rowArb, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 8 }),
        (trees, rows, maxTableFeatures) => {
          const dump = dumpOf(trees);
          const plain = loadTreeExplainer(dump, { algorithm: 'plain' });
          const fast = loadTreeExplainer(dump, { algorithm: 'fast', maxTableFeatures });
          const batch = fast.explainBatch(
            Float64Array.from(rows.flat(), (v) => v ?? NaN),
            rows.length,
          );
          rows.forEach((row, r) => {
            const expected = plain.explain(row);
            const single = fast.explain(row);
            expected.forEach((v, j) => {
              expect(close(single[j]!, v)).toBe(true);
              expect(close(batch[r * (FEATURES + 1) + j]!, v)).toBe(true);
            });
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives exactly 0 to a feature no tree splits on', () => {
    fc.assert(
      fc.property(modelArb, rowArb, (trees, row) => {
        for (const algorithm of ['plain', 'fast'] as const) {
          expect(loadTreeExplainer(dumpOf(trees), { algorithm }).explain(row)[UNUSED]).toBe(0);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("LightGBM's split semantics", () => {
  const stump = (rule: Partial<Split>): Node => ({
    split_feature: 0,
    threshold: 0.5,
    decision_type: '<=',
    default_left: false,
    missing_type: 'None',
    internal_count: 20,
    ...rule,
    left_child: { leaf_value: -1, leaf_count: 10 },
    right_child: { leaf_value: 1, leaf_count: 10 },
  });
  const side = (rule: Partial<Split>, x: number | null) =>
    loadTreeExplainer(dumpOf([stump(rule)], 1)).predictRaw([x]) < 0 ? 'left' : 'right';

  it('missing_type None reads NaN as 0', () => {
    expect(side({ threshold: 0.5 }, null)).toBe('left');
    expect(side({ threshold: -0.5, default_left: true }, null)).toBe('right');
    expect(side({ threshold: -0.5 }, NaN)).toBe('right');
  });

  it('missing_type Zero sends NaN, 0 and |x| <= 1e-35 the default way', () => {
    for (const x of [null, 0, -0, 1e-36, -1e-36]) {
      expect(side({ missing_type: 'Zero', threshold: 1, default_left: false }, x)).toBe('right');
      expect(side({ missing_type: 'Zero', threshold: -1, default_left: true }, x)).toBe('left');
    }
    expect(side({ missing_type: 'Zero', threshold: 1, default_left: false }, 1e-30)).toBe('left');
  });

  it('missing_type NaN sends only NaN the default way; values on the threshold go left', () => {
    expect(side({ missing_type: 'NaN', threshold: -1, default_left: true }, null)).toBe('left');
    expect(side({ missing_type: 'NaN', threshold: -1, default_left: true }, 0)).toBe('right');
    expect(side({ missing_type: 'NaN', threshold: 0.25 }, 0.25)).toBe('left');
  });

  it('categorical splits: codes in the set go left, truncated toward zero; NaN, negatives and unseen go right', () => {
    const cat = { decision_type: '==' as const, threshold: '0||3||33', missing_type: 'NaN' as const };
    expect(side(cat, 3)).toBe('left');
    expect(side(cat, 3.9)).toBe('left');
    expect(side(cat, 33)).toBe('left');
    expect(side(cat, -0.5)).toBe('left'); // static_cast<int>(-0.5) is 0
    for (const x of [null, -1, 4, 64, 1e12]) expect(side(cat, x)).toBe('right');
  });
});

describe('loading a dump', () => {
  const leaf = { leaf_value: 0.1, leaf_count: 5 };

  it('refuses multiclass models', () => {
    expect(() => loadTreeExplainer({ ...dumpOf([leaf]), num_tree_per_iteration: 3 })).toThrow(/multiclass/);
  });

  it('refuses splits on features the model does not have, naming the tree', () => {
    const bad: Node = { ...leaf, leaf_value: 0 };
    const split = {
      split_feature: 7,
      threshold: 0,
      decision_type: '<=',
      default_left: true,
      missing_type: 'None',
    };
    expect(() =>
      loadTreeExplainer(
        dumpOf([{ ...split, internal_count: 10, left_child: bad, right_child: bad } as Node]),
      ),
    ).toThrow(/tree 0, split on feature 7: feature index out of range/);
  });

  it('refuses something that is not a dump', () => {
    expect(() => loadTreeExplainer({ trees: [] })).toThrow(/not a LightGBM dump_model\(\) JSON/);
  });

  it('checks the row length', () => {
    expect(() => loadTreeExplainer(dumpOf([leaf])).explain([1, 2])).toThrow(/row has 2 values/);
  });
});
