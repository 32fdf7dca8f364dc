// Which leads need a new TreeSHAP explanation. Path-dependent TreeSHAP reads a row only through the side it
// takes at each split, so two rows that fall in the same interval between a feature's split thresholds (and
// equal codes for categorical splits) for every feature get bit-identical SHAP values. The key of a row is
// that interval signature: a lead whose key did not change reuses its cached explanation, exactly. Keys
// change far less often than raw vectors (lead_age_days moves every cycle, its split bins do not).
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isLinearDump } from '../explain/index.js';
import { CATEGORICAL, compileLightGbmDump, LEAF, ZERO_THRESHOLD } from '../explain/index.js';

export interface ExplanationKeyer {
  /** 16 hex characters; includes the model version, so a new model never reuses an old explanation. */
  keyOf(vector: readonly (number | null)[]): string;
}

/** Sorted split thresholds per numeric feature; categorical features compare by code; unused ones not at all. */
export function explanationKeyerFromDump(dump: unknown, modelVersion: string): ExplanationKeyer {
  // The linear model reads every value: the key is the vector itself.
  if (isLinearDump(dump)) {
    return {
      keyOf: (v) => hash('sha1', `${modelVersion},${v.map((x) => x ?? 'n').join(',')}`, 'hex').slice(0, 16),
    };
  }
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
  return {
    keyOf(vector) {
      const parts: string[] = [modelVersion];
      for (let f = 0; f < n; f++) {
        if (!used[f]) continue;
        const raw = vector[f];
        // Missing and zero get their own classes: NaN- and Zero-missing splits send them the default way.
        if (raw === null || raw === undefined || Number.isNaN(raw)) parts.push('n');
        else if (Math.abs(raw) <= ZERO_THRESHOLD) parts.push('z');
        else if (categorical[f]) parts.push(`c${Math.trunc(raw)}|${binOf(sorted[f]!, raw)}`);
        else parts.push(String(binOf(sorted[f]!, raw)));
      }
      // One-shot hash: a Hash object per row cost more than the SHA-1 itself.
      return hash('sha1', parts.join(','), 'hex').slice(0, 16);
    },
  };
}

export function loadExplanationKeyer(modelJsonFile: string, modelVersion: string): ExplanationKeyer {
  return explanationKeyerFromDump(JSON.parse(readFileSync(modelJsonFile, 'utf8')), modelVersion);
}

/** A cached explanation: the key it belongs to and the reasons' (feature index, SHAP value) pairs. */
export interface CachedExplanation {
  key: string;
  contributions: { index: number; value: number }[];
}

/** 8 key bytes + 10 bytes per contribution (uint16 index, float64 value): 68 bytes for six reasons. */
export function encodeExplanation(e: CachedExplanation): Buffer {
  const out = Buffer.alloc(8 + e.contributions.length * 10);
  out.write(e.key, 0, 8, 'hex');
  e.contributions.forEach((c, i) => {
    out.writeUInt16LE(c.index, 8 + i * 10);
    out.writeDoubleLE(c.value, 10 + i * 10);
  });
  return out;
}

export function decodeExplanation(data: Buffer): CachedExplanation {
  const contributions: CachedExplanation['contributions'] = [];
  for (let off = 8; off + 10 <= data.length; off += 10) {
    contributions.push({ index: data.readUInt16LE(off), value: data.readDoubleLE(off + 2) });
  }
  return { key: data.subarray(0, 8).toString('hex'), contributions };
}
