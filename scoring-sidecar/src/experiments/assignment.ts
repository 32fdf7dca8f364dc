// Deterministic, salted assignment: bucket = first 52 bits of sha256("<salt>:<unit>") as a number in [0, 1).
// The same unit always lands in the same bucket of one experiment; different salts give independent splits.
// A canary at share s shows the treatment to buckets below s, so widening only ever adds units to treatment.
import { createHash } from 'node:crypto';
import type { Arm } from './stats.js';

export function bucketOf(salt: string, unitId: string): number {
  const digest = createHash('sha256').update(`${salt}:${unitId}`).digest();
  // 52 bits fit a double exactly: no rounding bias at the top of the range.
  return (digest.readUInt32BE(0) * 2 ** 20 + (digest.readUInt32BE(4) >>> 12)) / 2 ** 52;
}

export function armForBucket(bucket: number, treatmentShare: number): Arm {
  return bucket < treatmentShare ? 'treatment' : 'control';
}
