// Which leads need a new TreeSHAP explanation (explain/explanation-key.ts), and the cached explanations' format.
// The keyer lives in explain/ (the online path caches explanations by the same signature); re-exported here.
export { explanationKeyerFromDump, loadExplanationKeyer, type ExplanationKeyer } from '../explain/index.js';

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
