/**
 * ROC-AUC as the normalised Mann–Whitney U statistic: ties get their average rank, so a tie between a
 * positive and a negative counts 1/2. O(n log n) via a native typed-array sort plus binary search per positive
 * (positives are rare here, which keeps it fast on millions of snapshots).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`rocAuc: ${n} scores but ${labels.length} labels`);
  const sorted = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s)) throw new Error(`rocAuc: score ${i} is NaN`);
    sorted[i] = s;
  }
  sorted.sort();
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; i++) {
    if (!labels[i]) continue;
    positives++;
    const s = scores[i] as number;
    const lo = bound(sorted, s, false);
    const hi = bound(sorted, s, true);
    rankSum += (lo + 1 + hi) / 2;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

// First index with sorted[i] > s (upper) or >= s (lower).
function bound(sorted: Float64Array, s: number, upper: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (v < s || (upper && v === s)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
