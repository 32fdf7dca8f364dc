// Path-dependent TreeSHAP (Lundberg et al. 2018, "Consistent individualized feature attribution for tree
// ensembles", Algorithm 2) as LightGBM's Tree::TreeSHAP implements it for pred_contrib=True (src/io/tree.cpp),
// with internal_count/leaf_count as cover. A line-by-line port so results match LightGBM to rounding.
import { type CompiledTree, LEAF as LEAF_KIND, goesLeft as goesLeftImport } from './lightgbm-dump.js';

// Module-local aliases: tsx serves modules with getter-based exports, too slow to call in the hot loops.
const LEAF = LEAF_KIND;
const goesLeft = goesLeftImport;

/**
 * TreeSHAP's "unique path": per element a feature, the fraction of cover flowing down the path when the
 * feature is unknown (zero fraction), whether the row follows it when known (one fraction), and the
 * permutation weight. Stored as parallel typed arrays, segments addressed by offset.
 */
export class PathBuffer {
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;

  /** Room for the recursion of trees up to `maxDepth` edges deep (LightGBM: L(L+1)/2, L = depth + 1). */
  constructor(maxDepth: number) {
    const len = maxDepth + 2;
    const size = (len * (len + 1)) / 2;
    this.feature = new Int32Array(size);
    this.zero = new Float64Array(size);
    this.one = new Float64Array(size);
    this.weight = new Float64Array(size);
  }
}

export function extendPath(
  p: PathBuffer,
  off: number,
  depth: number,
  zeroFraction: number,
  oneFraction: number,
  feature: number,
): void {
  const w = p.weight;
  p.feature[off + depth] = feature;
  p.zero[off + depth] = zeroFraction;
  p.one[off + depth] = oneFraction;
  w[off + depth] = depth === 0 ? 1 : 0;
  for (let i = depth - 1; i >= 0; i--) {
    w[off + i + 1]! += (oneFraction * w[off + i]! * (i + 1)) / (depth + 1);
    w[off + i] = (zeroFraction * w[off + i]! * (depth - i)) / (depth + 1);
  }
}

export function unwindPath(p: PathBuffer, off: number, depth: number, pathIndex: number): void {
  const w = p.weight;
  const oneFraction = p.one[off + pathIndex]!;
  const zeroFraction = p.zero[off + pathIndex]!;
  let nextOnePortion = w[off + depth]!;
  for (let i = depth - 1; i >= 0; i--) {
    if (oneFraction !== 0) {
      const tmp = w[off + i]!;
      w[off + i] = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
      nextOnePortion = tmp - (w[off + i]! * zeroFraction * (depth - i)) / (depth + 1);
    } else {
      w[off + i] = (w[off + i]! * (depth + 1)) / (zeroFraction * (depth - i));
    }
  }
  for (let i = pathIndex; i < depth; i++) {
    p.feature[off + i] = p.feature[off + i + 1]!;
    p.zero[off + i] = p.zero[off + i + 1]!;
    p.one[off + i] = p.one[off + i + 1]!;
  }
}

/** Total permutation weight if element `pathIndex` were unwound, without changing the path. */
export function unwoundPathSum(p: PathBuffer, off: number, depth: number, pathIndex: number): number {
  const w = p.weight;
  const oneFraction = p.one[off + pathIndex]!;
  const zeroFraction = p.zero[off + pathIndex]!;
  let nextOnePortion = w[off + depth]!;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (oneFraction !== 0) {
      const tmp = (nextOnePortion * (depth + 1)) / ((i + 1) * oneFraction);
      total += tmp;
      nextOnePortion = w[off + i]! - tmp * zeroFraction * ((depth - i) / (depth + 1));
    } else if (zeroFraction !== 0) {
      total += w[off + i]! / zeroFraction / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function recurse(
  t: CompiledTree,
  x: ArrayLike<number>,
  xOff: number,
  phi: Float64Array,
  phiOff: number,
  p: PathBuffer,
  node: number,
  depth: number,
  parentOff: number,
  parentZero: number,
  parentOne: number,
  parentFeature: number,
): void {
  const off = parentOff + depth;
  for (let i = 0; i < depth; i++) {
    p.feature[off + i] = p.feature[parentOff + i]!;
    p.zero[off + i] = p.zero[parentOff + i]!;
    p.one[off + i] = p.one[parentOff + i]!;
    p.weight[off + i] = p.weight[parentOff + i]!;
  }
  extendPath(p, off, depth, parentZero, parentOne, parentFeature);

  if (t.kind[node] === LEAF) {
    const v = t.value[node]!;
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(p, off, depth, i);
      phi[phiOff + p.feature[off + i]!]! += w * (p.one[off + i]! - p.zero[off + i]!) * v;
    }
    return;
  }
  const f = t.feature[node]!;
  const hot = goesLeft(t, node, x[xOff + f]!) ? t.left[node]! : t.right[node]!;
  const cold = hot === t.left[node] ? t.right[node]! : t.left[node]!;
  const cover = t.cover[node]!;
  const hotZero = t.cover[hot]! / cover;
  const coldZero = t.cover[cold]! / cover;
  let incomingZero = 1;
  let incomingOne = 1;
  // A feature already on the path is unwound and re-extended with the product of its fractions.
  let pathIndex = 0;
  for (; pathIndex <= depth; pathIndex++) if (p.feature[off + pathIndex] === f) break;
  if (pathIndex !== depth + 1) {
    incomingZero = p.zero[off + pathIndex]!;
    incomingOne = p.one[off + pathIndex]!;
    unwindPath(p, off, depth, pathIndex);
    depth -= 1;
  }
  recurse(t, x, xOff, phi, phiOff, p, hot, depth + 1, off, hotZero * incomingZero, incomingOne, f);
  recurse(t, x, xOff, phi, phiOff, p, cold, depth + 1, off, coldZero * incomingZero, 0, f);
}

/**
 * Adds one tree's SHAP values for the row at `x[xOff..]` (normalized, see normalizeRow) to
 * `phi[phiOff + feature]`, and its expected value to `phi[phiOff + featureCount]`.
 */
export function addTreeShap(
  t: CompiledTree,
  x: ArrayLike<number>,
  xOff: number,
  phi: Float64Array,
  phiOff: number,
  featureCount: number,
  p: PathBuffer,
): void {
  phi[phiOff + featureCount]! += t.expectedValue;
  if (t.nodeCount > 1) recurse(t, x, xOff, phi, phiOff, p, 0, 0, 0, 1, 1, -1);
}
