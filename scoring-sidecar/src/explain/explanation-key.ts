// Which rows need a new TreeSHAP explanation. Path-dependent TreeSHAP reads a row only through the side it
// takes at each split, so two rows that fall in the same interval between a feature's split thresholds (and
// equal codes for categorical splits) for every feature get bit-identical SHAP values. The signature of a row is
// that interval vector: a row whose signature did not change reuses its cached explanation, exactly. Signatures
// change far less often than raw vectors (lead_age_days moves every cycle, its split bins do not). The batch keys
// its Redis cache by a hash of it; the online path keys an in-process cache by the signature itself.
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLinearDump } from './linear-shap.js';
import { CATEGORICAL, compileLightGbmDump, LEAF, ZERO_THRESHOLD } from './lightgbm-dump.js';

export interface ExplanationKeyer {
  /** 16 hex characters; includes the model version, so a new model never reuses an old explanation. */
  keyOf(vector: readonly (number | null)[]): string;
}

/** Rows with equal signatures get bit-identical SHAP values from this model. */
export type ExplanationSignature = (vector: ArrayLike<number | null>) => string;

/** Sorted split thresholds per numeric feature; categorical features compare by code; unused ones not at all. */
export function explanationSignatureFromDump(dump: unknown): ExplanationSignature {
  // The linear model reads every value: the signature is the vector itself.
  if (isLinearDump(dump)) return (v) => Array.from(v, (x) => x ?? 'n').join(',');
  const model = compileLightGbmDump(dump);
  const n = model.featureNames.length;
  const thresholds: Set<number>[] = Array.from({ length: n }, () => new Set());
  const categorical = new Uint8Array(n);
  const used = new Uint8Array(n);
  for (const tree of model.trees) {
    for (let i = 0; i < tree.nodeCount; i++) {
      if (tree.kind[i] === LEAF) continue;
      const f = tree.feature[i]!;
      used[f] = 1;
      if (tree.kind[i] === CATEGORICAL) categorical[f] = 1;
      else thresholds[f]!.add(tree.threshold[i]!);
    }
  }
  const sorted = thresholds.map((s) => Float64Array.from([...s].sort((a, b) => a - b)));
  /** Thresholds t with x > t: the decisions `x <= t` of every numeric split on the feature follow from it. */
  const binOf = (ts: Float64Array, x: number): number => {
    let lo = 0;
    let hi = ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x > ts[mid]!) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return (vector) => {
    let out = '';
    for (let f = 0; f < n; f++) {
      if (!used[f]) continue;
      const raw = vector[f];
      // Missing and zero get their own classes: NaN- and Zero-missing splits send them the default way.
      let part: string;
      if (raw === null || raw === undefined || Number.isNaN(raw)) part = 'n';
      else if (Math.abs(raw) <= ZERO_THRESHOLD) part = 'z';
      else if (categorical[f]) part = `c${Math.trunc(raw)}|${binOf(sorted[f]!, raw)}`;
      else part = String(binOf(sorted[f]!, raw));
      out = out === '' ? part : `${out},${part}`;
    }
    return out;
  };
}

export function explanationKeyerFromDump(dump: unknown, modelVersion: string): ExplanationKeyer {
  const signatureOf = explanationSignatureFromDump(dump);
  return {
    keyOf(vector) {
      const signature = signatureOf(vector);
      // One-shot hash: a Hash object per row cost more than the SHA-1 itself.
      return hash('sha1', signature === '' ? modelVersion : `${modelVersion},${signature}`, 'hex').slice(
        0,
        16,
      );
    },
  };
}

export function loadExplanationKeyer(modelJsonFile: string, modelVersion: string): ExplanationKeyer {
  return explanationKeyerFromDump(JSON.parse(readFileSync(modelJsonFile, 'utf8')), modelVersion);
}
