// For retry loops above one call (a batch cycle resuming its extract, rounds of locked rows in later jobs),
// which p-retry cannot wrap because their state is checkpointed between attempts. Calls use the transport.

/** Full jitter (AWS architecture blog): a random delay in [0, min(max, base·2^attempt)]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}
