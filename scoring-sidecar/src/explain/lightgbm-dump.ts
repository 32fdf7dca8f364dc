// Reads LightGBM's `booster.dump_model()` JSON into flat, pre-order typed arrays, and evaluates splits exactly as
// LightGBM's Tree::NumericalDecision / Tree::CategoricalDecision do (include/LightGBM/tree.h, v4).
import { z } from 'zod';

/** LightGBM's kZeroThreshold (a float literal, 1e-35f): |x| at or below it counts as zero. */
export const ZERO_THRESHOLD = Math.fround(1e-35);

// How a node decides (plain numbers, not an enum: hot loops compare against them).
export const LEAF = 0;
/** Numeric, missing_type None: NaN is read as 0. */
export const NUMERIC = 1;
/** Numeric, missing_type Zero: NaN and (near) zero take the default direction. */
export const NUMERIC_ZERO_MISSING = 2;
/** Numeric, missing_type NaN: NaN takes the default direction. */
export const NUMERIC_NAN_MISSING = 3;
/** Categorical: left when the value's integer code is in the split's set; NaN and negatives go right. */
export const CATEGORICAL = 4;

/** One tree, nodes in pre-order (a parent always precedes its children; node 0 is the root). */
export interface CompiledTree {
  nodeCount: number;
  leafCount: number;
  /** Edges on the longest root-to-leaf path. */
  maxDepth: number;
  kind: Uint8Array;
  /** Split feature (original feature index), -1 on leaves. */
  feature: Int32Array;
  threshold: Float64Array;
  defaultLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** Training rows through the node (internal_count / leaf_count): TreeSHAP's cover. */
  cover: Float64Array;
  /** Leaf output (raw score units), 0 on internal nodes. */
  value: Float64Array;
  /** Categorical splits: the left-going category codes as a bitset of `catWords[n]` words from `catStart[n]`. */
  catStart: Int32Array;
  catWords: Int32Array;
  catBits: Uint32Array;
  /** Σ leaf_count / root count × leaf_value: the tree's expected output (LightGBM's Tree::ExpectedValue). */
  expectedValue: number;
}

export interface TreeModel {
  featureNames: string[];
  /** LightGBM objective, e.g. "binary sigmoid:1"; contributions are in raw score (log-odds for binary). */
  objective: string;
  trees: CompiledTree[];
}

interface DumpSplit {
  split_feature: number;
  threshold: number | string;
  decision_type: '<=' | '==';
  default_left: boolean;
  missing_type: 'None' | 'Zero' | 'NaN';
  internal_count: number;
  left_child: DumpNode;
  right_child: DumpNode;
}
interface DumpLeaf {
  leaf_value: number;
  leaf_count?: number;
}
type DumpNode = DumpSplit | DumpLeaf;

const leafSchema = z.object({
  leaf_value: z.number(),
  leaf_count: z.number().int().nonnegative().optional(),
});
const nodeSchema: z.ZodType<DumpNode> = z.lazy(() =>
  z.union([
    z.object({
      split_feature: z.number().int().nonnegative(),
      threshold: z.union([z.number(), z.string()]),
      decision_type: z.enum(['<=', '==']),
      default_left: z.boolean(),
      missing_type: z.enum(['None', 'Zero', 'NaN']),
      internal_count: z.number().int().positive(),
      left_child: nodeSchema,
      right_child: nodeSchema,
    }),
    leafSchema,
  ]),
);

const dumpSchema = z.object({
  objective: z.string(),
  num_tree_per_iteration: z.number().int(),
  max_feature_idx: z.number().int().nonnegative(),
  feature_names: z.array(z.string()),
  average_output: z.boolean().optional(),
  tree_info: z.array(
    z.object({
      tree_index: z.number().int(),
      num_leaves: z.number().int().positive(),
      is_linear: z.boolean().optional(),
      tree_structure: nodeSchema,
    }),
  ),
});

export type LightGbmDump = z.input<typeof dumpSchema>;

function isSplit(node: DumpNode): node is DumpSplit {
  return 'split_feature' in node;
}

function parseCategories(threshold: number | string, where: string): number[] {
  const text = String(threshold);
  const codes = text === '' ? [] : text.split('||').map(Number);
  if (codes.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new Error(`${where}: categorical threshold "${text}" is not a list of category codes`);
  }
  return codes;
}

function compileTree(root: DumpNode, featureCount: number, where: string): CompiledTree {
  const nodes: DumpNode[] = [];
  const depth: number[] = [];
  // Pre-order numbering with an explicit stack: trees can be deeper than is comfortable for recursion.
  const stack: [DumpNode, number][] = [[root, 0]];
  while (stack.length) {
    const [node, d] = stack.pop()!;
    nodes.push(node);
    depth.push(d);
    if (isSplit(node)) stack.push([node.right_child, d + 1], [node.left_child, d + 1]);
  }
  const n = nodes.length;
  const tree: CompiledTree = {
    nodeCount: n,
    leafCount: 0,
    maxDepth: Math.max(...depth),
    kind: new Uint8Array(n),
    feature: new Int32Array(n).fill(-1),
    threshold: new Float64Array(n),
    defaultLeft: new Uint8Array(n),
    left: new Int32Array(n).fill(-1),
    right: new Int32Array(n).fill(-1),
    cover: new Float64Array(n),
    value: new Float64Array(n),
    catStart: new Int32Array(n),
    catWords: new Int32Array(n),
    catBits: new Uint32Array(0),
    expectedValue: 0,
  };
  const index = new Map<DumpNode, number>(nodes.map((node, i) => [node, i]));
  const bits: number[] = [];
  let leavesWithoutCount = 0;
  nodes.forEach((node, i) => {
    if (!isSplit(node)) {
      if (node.leaf_count === undefined) leavesWithoutCount++;
      tree.leafCount++;
      tree.value[i] = node.leaf_value;
      tree.cover[i] = node.leaf_count ?? 0;
      return;
    }
    const at = `${where}, split on feature ${node.split_feature}`;
    if (node.split_feature >= featureCount) throw new Error(`${at}: feature index out of range`);
    tree.feature[i] = node.split_feature;
    tree.defaultLeft[i] = node.default_left ? 1 : 0;
    tree.cover[i] = node.internal_count;
    tree.left[i] = index.get(node.left_child)!;
    tree.right[i] = index.get(node.right_child)!;
    if (node.decision_type === '==') {
      tree.kind[i] = CATEGORICAL;
      const codes = parseCategories(node.threshold, at);
      const words = codes.length ? Math.floor(Math.max(...codes) / 32) + 1 : 0;
      tree.catStart[i] = bits.length;
      tree.catWords[i] = words;
      for (let w = 0; w < words; w++) bits.push(0);
      for (const c of codes) bits[tree.catStart[i]! + (c >>> 5)]! |= 1 << (c & 31);
    } else {
      if (typeof node.threshold !== 'number') throw new Error(`${at}: numeric threshold is not a number`);
      tree.threshold[i] = node.threshold;
      tree.kind[i] =
        node.missing_type === 'NaN'
          ? NUMERIC_NAN_MISSING
          : node.missing_type === 'Zero'
            ? NUMERIC_ZERO_MISSING
            : NUMERIC;
    }
  });
  tree.catBits = Uint32Array.from(bits, (b) => b >>> 0);
  if (n === 1) {
    tree.expectedValue = tree.value[0]!;
  } else {
    const total = tree.cover[0]!;
    if (leavesWithoutCount) throw new Error(`${where}: leaves without leaf_count (TreeSHAP needs covers)`);
    for (let i = 0; i < n; i++) {
      if (tree.kind[i] !== LEAF) continue;
      tree.expectedValue += (tree.cover[i]! / total) * tree.value[i]!;
    }
  }
  return tree;
}

/** Validates a dump and compiles its trees. Fails on models this module cannot explain exactly. */
export function compileLightGbmDump(dump: unknown, source = 'LightGBM dump'): TreeModel {
  const parsed = dumpSchema.safeParse(dump);
  if (!parsed.success)
    throw new Error(`${source}: not a LightGBM dump_model() JSON:\n${z.prettifyError(parsed.error)}`);
  const d = parsed.data;
  if (d.num_tree_per_iteration !== 1) {
    throw new Error(
      `${source}: ${d.num_tree_per_iteration} trees per iteration (multiclass) is not supported`,
    );
  }
  if (d.average_output) throw new Error(`${source}: average_output (random forest mode) is not supported`);
  const featureCount = d.max_feature_idx + 1;
  if (d.feature_names.length !== featureCount) {
    throw new Error(`${source}: ${d.feature_names.length} feature names for ${featureCount} features`);
  }
  const trees = d.tree_info.map((t) => {
    if (t.is_linear) throw new Error(`${source}: tree ${t.tree_index} is a linear tree, not supported`);
    return compileTree(t.tree_structure, featureCount, `${source}, tree ${t.tree_index}`);
  });
  return { featureNames: d.feature_names, objective: d.objective, trees };
}

/** LightGBM's split decision: true when `x` goes to the left child of split node `n`. */
export function goesLeft(tree: CompiledTree, n: number, x: number): boolean {
  switch (tree.kind[n]) {
    case NUMERIC:
      return (x !== x ? 0 : x) <= tree.threshold[n]!;
    case NUMERIC_NAN_MISSING:
      return x !== x ? tree.defaultLeft[n] === 1 : x <= tree.threshold[n]!;
    case NUMERIC_ZERO_MISSING:
      return x !== x || (x >= -ZERO_THRESHOLD && x <= ZERO_THRESHOLD)
        ? tree.defaultLeft[n] === 1
        : x <= tree.threshold[n]!;
    case CATEGORICAL: {
      // static_cast<int> truncates toward zero; values beyond int range are undefined in C++ and go right here.
      if (x !== x || x >= 2147483648) return false;
      const code = Math.trunc(x);
      if (code < 0) return false;
      const word = code >>> 5;
      return word < tree.catWords[n]! && (tree.catBits[tree.catStart[n]! + word]! & (1 << (code & 31))) !== 0;
    }
    default:
      throw new Error(`node ${n} is a leaf`);
  }
}

/**
 * A row as LightGBM's predictor sees it: null/undefined are missing (NaN), and |x| <= kZeroThreshold becomes
 * exactly 0 (its dense-row reader drops such values and the buffer they leave is zero-filled).
 */
export function normalizeRow(
  row: ArrayLike<number | null | undefined>,
  featureCount: number,
  out: Float64Array,
) {
  if (row.length < featureCount)
    throw new Error(`row has ${row.length} values, the model reads ${featureCount}`);
  for (let j = 0; j < featureCount; j++) {
    const v = row[j];
    out[j] = v === null || v === undefined ? NaN : Math.abs(v) <= ZERO_THRESHOLD ? 0 : v;
  }
  return out;
}

/** The leaf a row (normalized) reaches. */
export function leafOf(tree: CompiledTree, x: ArrayLike<number>, offset = 0): number {
  let n = 0;
  while (tree.kind[n] !== LEAF) {
    n = goesLeft(tree, n, x[offset + tree.feature[n]!]!) ? tree.left[n]! : tree.right[n]!;
  }
  return n;
}
