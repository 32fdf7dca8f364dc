// Fast path for path-dependent TreeSHAP, in the style of Fast TreeSHAP v2 (Yang 2021), same values as
// tree-shap.ts up to floating-point rounding.
//
// TreeSHAP decomposes over leaves: a leaf l with value v, whose root path splits on k distinct features with
// cover fractions z_j (product over that feature's nodes on the path) contributes the Shapley values of the
// game g(S) = v Π_j (j ∈ S ? o_j : z_j), where o_j ∈ {0, 1} says whether the row satisfies every split on
// feature j along the path. Let H be the features the row satisfies and A(T) = v Σ_{S ⊆ T} w(|S|) Π_{j ∉ S} z_j,
// w(s) = s!(k-s-1)!/k!. Then feature i gets -A(H) when i ∉ H and (1 - z_i)/z_i · A(H \ {i}) when i ∈ H.
// A depends only on the tree, so it is tabulated per leaf (2^k values) at load; a row then costs one pass over
// the split nodes (decisions → H as bitmasks) plus k table reads per leaf, instead of TreeSHAP's O(L·D²).
// Leaves with more than `maxTableFeatures` distinct path features (tables grow as 2^k), or with a zero cover
// fraction, are computed on the fly from elementary symmetric polynomials of the z's (O(h²) for h satisfied).
import {
  type CompiledTree,
  LEAF as LEAF_KIND,
  NUMERIC as NUMERIC_KIND,
  goesLeft as goesLeftImport,
} from './lightgbm-dump.js';

// Module-local aliases: tsx serves modules with getter-based exports, too slow to call in the hot loops.
const LEAF = LEAF_KIND;
const NUMERIC = NUMERIC_KIND;
const goesLeft = goesLeftImport;

/** Bits of a 32-bit mask usable for path slots (bit 31 is the sign). */
const MASK_BITS = 31;

export interface FastTree {
  tree: CompiledTree;
  /** Per split node: its feature's slot among the distinct features on the root path (first-seen order). */
  slot: Int32Array;
  leafNode: Int32Array;
  leafSlots: Int32Array;
  /** Per leaf: start in slotFeature/slotRatio/slotZero. */
  leafSlotStart: Int32Array;
  /** Per leaf: start of its 2^k table in `table`, or -1 when computed on the fly. */
  leafTable: Int32Array;
  slotFeature: Int32Array;
  /** (1 - z) / z per slot. */
  slotRatio: Float64Array;
  slotZero: Float64Array;
  table: Float64Array;
  /** Leaves too deep for a 32-bit mask: path steps (node, went left, slot) from `leafStepStart`. */
  leafStepStart: Int32Array;
  leafSteps: Int32Array;
  stepNode: Int32Array;
  stepLeft: Uint8Array;
  stepSlot: Int32Array;
}

/** w(s) = s!(k-s-1)!/k! for s = 0..k-1: the Shapley weight of a coalition of s among k players. */
function shapleyWeights(k: number): Float64Array {
  const w = new Float64Array(k);
  // w(0) = 1/k, w(s) = w(s-1) · s / (k - s): a ratio recurrence avoids factorial overflow for deep paths.
  w[0] = 1 / k;
  for (let s = 1; s < k; s++) w[s] = (w[s - 1]! * s) / (k - s);
  return w;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

/** A(T) for every T ⊆ {0..k-1}: per-subset terms, then a subset-sum (zeta) transform, O(k·2^k). */
function leafTable(v: number, z: Float64Array): Float64Array {
  const k = z.length;
  const size = 1 << k;
  const w = shapleyWeights(k);
  const a = new Float64Array(size);
  for (let s = 0; s < size - 1; s++) {
    let outside = 1;
    for (let j = 0; j < k; j++) if (!(s & (1 << j))) outside *= z[j]!;
    a[s] = v * w[popcount(s)]! * outside;
  }
  // a[full set] stays 0: A is only ever read at sets missing at least one path feature.
  for (let j = 0; j < k; j++) {
    const bit = 1 << j;
    for (let t = 0; t < size; t++) if (t & bit) a[t]! += a[t ^ bit]!;
  }
  return a;
}

export function compileFastTree(tree: CompiledTree, maxTableFeatures: number): FastTree {
  if (maxTableFeatures > 20)
    throw new Error('maxTableFeatures above 20 would need tables of over 8 MB a leaf');
  const slot = new Int32Array(tree.nodeCount).fill(-1);
  const leaves: {
    node: number;
    features: number[];
    zeros: number[];
    steps: [node: number, left: boolean, slot: number][];
  }[] = [];
  const pathFeatures: number[] = [];
  const pathZeros: number[] = [];
  const steps: [number, boolean, number][] = [];

  const walk = (n: number): void => {
    if (tree.kind[n] === LEAF) {
      leaves.push({ node: n, features: [...pathFeatures], zeros: [...pathZeros], steps: [...steps] });
      return;
    }
    const f = tree.feature[n]!;
    let s = pathFeatures.indexOf(f);
    const isNew = s < 0;
    if (isNew) {
      s = pathFeatures.length;
      pathFeatures.push(f);
      pathZeros.push(1);
    }
    slot[n] = s;
    const before = pathZeros[s]!;
    for (const [child, left] of [
      [tree.left[n]!, true],
      [tree.right[n]!, false],
    ] as const) {
      pathZeros[s] = before * (tree.cover[child]! / tree.cover[n]!);
      steps.push([n, left, s]);
      walk(child);
      steps.pop();
    }
    pathZeros[s] = before;
    if (isNew) {
      pathFeatures.pop();
      pathZeros.pop();
    }
  };
  if (tree.nodeCount > 1) walk(0);

  const L = leaves.length;
  const leafTableStart = new Int32Array(L).fill(-1);
  const leafSlotStart = new Int32Array(L);
  const leafStepStart = new Int32Array(L);
  const leafSteps = new Int32Array(L);
  const slotFeature: number[] = [];
  const slotZero: number[] = [];
  const tables: Float64Array[] = [];
  const stepNode: number[] = [];
  const stepLeft: number[] = [];
  const stepSlot: number[] = [];
  let tableSize = 0;
  leaves.forEach((leaf, l) => {
    const k = leaf.features.length;
    leafSlotStart[l] = slotFeature.length;
    slotFeature.push(...leaf.features);
    slotZero.push(...leaf.zeros);
    const tabulate = k <= Math.min(maxTableFeatures, MASK_BITS) && leaf.zeros.every((z) => z > 0);
    if (tabulate) {
      const table = leafTable(tree.value[leaf.node]!, Float64Array.from(leaf.zeros));
      leafTableStart[l] = tableSize;
      tableSize += table.length;
      tables.push(table);
    } else if (k > MASK_BITS) {
      leafStepStart[l] = stepNode.length;
      leafSteps[l] = leaf.steps.length;
      for (const [node, left, s] of leaf.steps) {
        stepNode.push(node);
        stepLeft.push(left ? 1 : 0);
        stepSlot.push(s);
      }
    }
  });
  const table = new Float64Array(tableSize);
  let at = 0;
  for (const t of tables) {
    table.set(t, at);
    at += t.length;
  }
  return {
    tree,
    slot,
    leafNode: Int32Array.from(leaves, (l) => l.node),
    leafSlots: Int32Array.from(leaves, (l) => l.features.length),
    leafSlotStart,
    leafTable: leafTableStart,
    slotFeature: Int32Array.from(slotFeature),
    slotRatio: Float64Array.from(slotZero, (z) => (1 - z) / z),
    slotZero: Float64Array.from(slotZero),
    table,
    leafStepStart,
    leafSteps,
    stepNode: Int32Array.from(stepNode),
    stepLeft: Uint8Array.from(stepLeft),
    stepSlot: Int32Array.from(stepSlot),
  };
}

/** Per-explainer scratch space, sized for the largest tree. */
export class FastScratch {
  readonly mask: Int32Array;
  readonly left: Uint8Array;
  readonly hot: Uint8Array;
  readonly hotZero: Float64Array;
  readonly hotFeature: Int32Array;
  readonly symmetric: Float64Array;
  readonly deflated: Float64Array;
  /** shapley[k]: the weights w(0..k-1) for leaves with k distinct path features. */
  readonly shapley: Float64Array[];

  constructor(maxNodes: number, maxDepth: number) {
    this.mask = new Int32Array(maxNodes);
    this.left = new Uint8Array(maxNodes);
    this.hot = new Uint8Array(maxDepth + 1);
    this.hotZero = new Float64Array(maxDepth + 1);
    this.hotFeature = new Int32Array(maxDepth + 1);
    this.symmetric = new Float64Array(maxDepth + 2);
    this.deflated = new Float64Array(maxDepth + 2);
    this.shapley = Array.from({ length: maxDepth + 1 }, (_, k) => shapleyWeights(Math.max(k, 1)));
  }
}

/**
 * One leaf without a table, in O(h² + k) for h satisfied features: with Z_C the product of the unsatisfied
 * features' z and e_m the elementary symmetric polynomials of the satisfied ones' z,
 * A(H) = v·Z_C·Σ_m w(h-m)·e_m(z_H), and (1 - z_i)/z_i·A(H \ {i}) = v·Z_C·(1 - z_i)·Σ_m w(h-1-m)·e_m(z_{H\i}),
 * the latter's polynomials by dividing out (1 + z_i·t). No division by z, so zero covers are fine.
 */
function addLeafOnTheFly(ft: FastTree, l: number, phi: Float64Array, phiOff: number, s: FastScratch): void {
  const k = ft.leafSlots[l]!;
  const s0 = ft.leafSlotStart[l]!;
  const { hot, hotZero, hotFeature, symmetric: e, deflated: d } = s;
  if (k <= MASK_BITS) {
    const mask = s.mask[ft.leafNode[l]!]!;
    for (let j = 0; j < k; j++) hot[j] = (mask >>> j) & 1;
  } else {
    hot.fill(1, 0, k);
    const st0 = ft.leafStepStart[l]!;
    const st1 = st0 + ft.leafSteps[l]!;
    for (let st = st0; st < st1; st++)
      if (s.left[ft.stepNode[st]!] !== ft.stepLeft[st]) hot[ft.stepSlot[st]!] = 0;
  }
  let h = 0;
  let coldProduct = 1;
  for (let j = 0; j < k; j++) {
    const z = ft.slotZero[s0 + j]!;
    if (hot[j]) {
      hotZero[h] = z;
      hotFeature[h] = ft.slotFeature[s0 + j]!;
      h++;
    } else {
      coldProduct *= z;
    }
  }
  e[0] = 1;
  for (let i = 0; i < h; i++) {
    const z = hotZero[i]!;
    e[i + 1] = z * e[i]!;
    for (let m = i; m >= 1; m--) e[m]! += z * e[m - 1]!;
  }
  const w = s.shapley[k]!;
  const scale = ft.tree.value[ft.leafNode[l]!]! * coldProduct;
  if (h < k) {
    let a = 0;
    for (let m = 0; m <= h; m++) a += w[h - m]! * e[m]!;
    const cold = scale * a;
    for (let j = 0; j < k; j++) if (!hot[j]) phi[phiOff + ft.slotFeature[s0 + j]!]! -= cold;
  }
  for (let i = 0; i < h; i++) {
    const z = hotZero[i]!;
    d[0] = 1;
    let sum = w[h - 1]!;
    for (let m = 1; m < h; m++) {
      d[m] = e[m]! - z * d[m - 1]!;
      sum += w[h - 1 - m]! * d[m]!;
    }
    phi[phiOff + hotFeature[i]!]! += scale * (1 - z) * sum;
  }
}

/** Adds one tree's SHAP values for the row at `x[xOff..]` (normalized) to `phi[phiOff..]`, bias included. */
export function addTreeShapFast(
  ft: FastTree,
  x: ArrayLike<number>,
  xOff: number,
  phi: Float64Array,
  phiOff: number,
  featureCount: number,
  s: FastScratch,
): void {
  const t = ft.tree;
  phi[phiOff + featureCount]! += t.expectedValue;
  const n = t.nodeCount;
  if (n === 1) return;
  // Everything the loops read is hoisted into locals: V8 does not hoist property loads out of them.
  const mask = s.mask;
  const wentLeft = s.left;
  const kind = t.kind;
  const feature = t.feature;
  const threshold = t.threshold;
  const leftChild = t.left;
  const rightChild = t.right;
  const slot = ft.slot;
  mask[0] = -1;
  for (let node = 0; node < n; node++) {
    const k = kind[node]!;
    if (k === LEAF) continue;
    const m = mask[node]!;
    const sl = slot[node]!;
    const off = sl < MASK_BITS ? ~(1 << sl) : -1;
    const v = x[xOff + feature[node]!]!;
    // Plain numeric splits (the common case) inline; the others go through LightGBM's full decision.
    const left = k === NUMERIC ? (v !== v ? 0 : v) <= threshold[node]! : goesLeft(t, node, v);
    wentLeft[node] = left ? 1 : 0;
    mask[leftChild[node]!] = left ? m : m & off;
    mask[rightChild[node]!] = left ? m & off : m;
  }
  const L = ft.leafNode.length;
  const table = ft.table;
  const slotFeature = ft.slotFeature;
  const slotRatio = ft.slotRatio;
  const leafTableAt = ft.leafTable;
  const leafSlots = ft.leafSlots;
  const leafSlotStart = ft.leafSlotStart;
  const leafNode = ft.leafNode;
  for (let l = 0; l < L; l++) {
    const tOff = leafTableAt[l]!;
    if (tOff < 0) {
      addLeafOnTheFly(ft, l, phi, phiOff, s);
      continue;
    }
    const k = leafSlots[l]!;
    const s0 = leafSlotStart[l]!;
    const hot = mask[leafNode[l]!]! & ((1 << k) - 1);
    const aHot = table[tOff + hot]!;
    // Branch-free: whether the row satisfies a path feature is data-dependent, so a branch here mispredicts
    // about half the time; both terms are finite, and the unused one is multiplied by zero.
    for (let j = 0; j < k; j++) {
      const isHot = (hot >>> j) & 1;
      phi[phiOff + slotFeature[s0 + j]!]! +=
        isHot * slotRatio[s0 + j]! * table[tOff + (hot ^ (1 << j))]! - (1 - isHot) * aHot;
    }
  }
}

export function tableBytes(trees: readonly FastTree[]): number {
  return trees.reduce((sum, ft) => sum + ft.table.byteLength, 0);
}
