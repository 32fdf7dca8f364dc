// Exact TreeSHAP explanations for a LightGBM model, from its dump_model() JSON.
// Hand-written: no maintained npm library computes TreeSHAP over a LightGBM dump (the shap/fasttreeshap
// packages are Python/C++), and the sidecar serves the model in-process.
import { readFileSync } from 'node:fs';
import { type Logger, pino } from 'pino';
import {
  type FastTree,
  FastScratch,
  addTreeShapFast,
  compileFastTree,
  tableBytes,
} from './fast-tree-shap.js';
import { type TreeModel, compileLightGbmDump, leafOf, normalizeRow } from './lightgbm-dump.js';
import { PathBuffer, addTreeShap } from './tree-shap.js';

export type ExplainAlgorithm = 'fast' | 'plain';

export interface TreeExplainerOptions {
  /** 'fast' (default): per-leaf tables; 'plain': LightGBM's recursion. Same values up to rounding. */
  algorithm?: ExplainAlgorithm;
  /**
   * Fast path: leaves with more distinct path features than this are computed on the fly. Default: the largest
   * count (≤ 16) whose tables fit `tableBudgetBytes`; on-the-fly leaves cost O(h²) each, a table read O(1).
   */
  maxTableFeatures?: number;
  /** Memory the fast path may spend on leaf tables when `maxTableFeatures` is not given (default 32 MB). */
  tableBudgetBytes?: number;
  /** Where the load summary goes (default: pino at LOG_LEVEL, info). */
  logger?: Logger;
}

export interface TreeExplainer {
  readonly featureNames: readonly string[];
  readonly objective: string;
  readonly algorithm: ExplainAlgorithm;
  readonly treeCount: number;
  /**
   * SHAP values of one row (missing as null or NaN): one per feature, then the expected value; they sum to
   * predictRaw(row) (log-odds for a binary model). The result is a new array.
   */
  explain(row: ArrayLike<number | null>): Float64Array;
  /** `rows` is row-major, nRows × featureCount (NaN = missing); returns nRows × (featureCount + 1). */
  explainBatch(rows: Float64Array, nRows: number): Float64Array;
  /** Bytes held by the fast path's leaf tables (0 for the plain path). */
  tableBytes(): number;
  /** Raw score (sum of the trees' leaf values), as LightGBM's predict(raw_score=True). */
  predictRaw(row: ArrayLike<number | null>): number;
  /**
   * Rows with equal signatures get bit-identical SHAP values (explanation-key.ts); set by `loadExplainer`, so an
   * explanation can be cached and reused exactly.
   */
  signatureOf?: (row: ArrayLike<number | null>) => string;
}

const DEFAULT_TABLE_BUDGET = 32 * 2 ** 20;
/** compileFastTree refuses more (a 2^k table per leaf). */
const TABLE_FEATURES_CAP = 16;

/** The largest k whose leaf tables (leaves with ≤ k path features, 2^k doubles each) fit the budget. */
function largestTableFeatures(model: TreeModel, budgetBytes: number): number {
  const bytesAt = new Float64Array(TABLE_FEATURES_CAP + 1);
  for (const tree of model.trees) {
    const shape = compileFastTree(tree, 0); // slots only, no tables
    for (let l = 0; l < shape.leafSlots.length; l++) {
      const k = shape.leafSlots[l]!;
      if (k > TABLE_FEATURES_CAP) continue;
      const s0 = shape.leafSlotStart[l]!;
      let tabulable = true;
      for (let j = 0; j < k; j++) if (!(shape.slotZero[s0 + j]! > 0)) tabulable = false;
      if (tabulable) bytesAt[k]! += 8 * 2 ** k;
    }
  }
  let total = 0;
  let best = 0;
  for (let k = 0; k <= TABLE_FEATURES_CAP; k++) {
    total += bytesAt[k]!;
    if (total > budgetBytes) break;
    best = k;
  }
  return best;
}

/** Rows per block in batches: the block's rows go through one tree before the next, keeping its tables hot. */
export const EXPLAIN_BLOCK_ROWS = 64;

class LightGbmTreeExplainer implements TreeExplainer {
  readonly featureNames: readonly string[];
  readonly objective: string;
  readonly treeCount: number;
  private readonly featureCount: number;
  private readonly fastTrees: FastTree[];
  private readonly path: PathBuffer;
  private readonly scratch: FastScratch;
  private readonly row: Float64Array;

  constructor(
    private readonly model: TreeModel,
    readonly algorithm: ExplainAlgorithm,
    maxTableFeatures: number,
  ) {
    this.featureNames = model.featureNames;
    this.objective = model.objective;
    this.treeCount = model.trees.length;
    this.featureCount = model.featureNames.length;
    const maxDepth = Math.max(0, ...model.trees.map((t) => t.maxDepth));
    const maxNodes = Math.max(1, ...model.trees.map((t) => t.nodeCount));
    this.path = new PathBuffer(maxDepth);
    this.scratch = new FastScratch(maxNodes, maxDepth);
    this.row = new Float64Array(this.featureCount);
    this.fastTrees = algorithm === 'fast' ? model.trees.map((t) => compileFastTree(t, maxTableFeatures)) : [];
  }

  predictRaw(row: ArrayLike<number | null>): number {
    const x = normalizeRow(row, this.featureCount, this.row);
    let sum = 0;
    for (const t of this.model.trees) sum += t.value[leafOf(t, x)]!;
    return sum;
  }

  explain(row: ArrayLike<number | null>): Float64Array {
    const x = normalizeRow(row, this.featureCount, this.row);
    const phi = new Float64Array(this.featureCount + 1);
    this.explainInto(x, 0, phi, 0);
    return phi;
  }

  explainBatch(rows: Float64Array, nRows: number): Float64Array {
    const f = this.featureCount;
    if (!Number.isInteger(nRows) || nRows < 0 || rows.length < nRows * f) {
      throw new Error(`explainBatch: ${rows.length} values do not hold ${nRows} rows of ${f} features`);
    }
    const out = new Float64Array(nRows * (f + 1));
    // Sized for the rows at hand: the online path explains a few rows at a time (28 KB per call would be garbage).
    const block = new Float64Array(Math.min(nRows, EXPLAIN_BLOCK_ROWS) * f);
    for (let start = 0; start < nRows; start += EXPLAIN_BLOCK_ROWS) {
      const end = Math.min(nRows, start + EXPLAIN_BLOCK_ROWS);
      for (let r = start; r < end; r++) {
        normalizeRow(
          rows.subarray(r * f, (r + 1) * f),
          f,
          block.subarray((r - start) * f, (r - start + 1) * f),
        );
      }
      if (this.algorithm === 'fast') {
        for (const ft of this.fastTrees) {
          for (let r = start; r < end; r++) {
            addTreeShapFast(ft, block, (r - start) * f, out, r * (f + 1), f, this.scratch);
          }
        }
      } else {
        for (let r = start; r < end; r++) this.explainInto(block, (r - start) * f, out, r * (f + 1));
      }
    }
    return out;
  }

  private explainInto(x: Float64Array, xOff: number, phi: Float64Array, phiOff: number): void {
    const f = this.featureCount;
    if (this.algorithm === 'fast') {
      for (const ft of this.fastTrees) addTreeShapFast(ft, x, xOff, phi, phiOff, f, this.scratch);
    } else {
      for (const t of this.model.trees) addTreeShap(t, x, xOff, phi, phiOff, f, this.path);
    }
  }

  tableBytes(): number {
    return tableBytes(this.fastTrees);
  }
}

/**
 * Loads a LightGBM model for explanation: `source` is the parsed dump_model() JSON, or the path of a file
 * holding it. Fails on multiclass, linear-tree and random-forest models.
 */
export function loadTreeExplainer(source: unknown, options: TreeExplainerOptions = {}): TreeExplainer {
  const name = typeof source === 'string' ? source : 'LightGBM dump';
  const dump: unknown = typeof source === 'string' ? JSON.parse(readFileSync(source, 'utf8')) : source;
  const model = compileLightGbmDump(dump, name);
  const algorithm = options.algorithm ?? 'fast';
  const maxTableFeatures =
    options.maxTableFeatures ??
    (algorithm === 'fast'
      ? largestTableFeatures(model, options.tableBudgetBytes ?? DEFAULT_TABLE_BUDGET)
      : 0);
  const explainer = new LightGbmTreeExplainer(model, algorithm, maxTableFeatures);
  const log = options.logger ?? pino({ name: 'tree-explainer', level: process.env.LOG_LEVEL ?? 'info' });
  log.info(
    {
      trees: model.trees.length,
      features: model.featureNames.length,
      algorithm,
      maxTableFeatures,
      tableBytes: explainer.tableBytes(),
    },
    'tree explainer loaded',
  );
  return explainer;
}
