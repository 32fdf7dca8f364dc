// The online store's read budget (storeTimeoutMs): a store that does not answer in time is an outage, and the
// request answers at once (rules for payloads, 503 for ids) instead of waiting for the Redis client to give up.
// A timer can fire late, though: when the event loop was blocked (a GC pause, a slow synchronous call) the
// store's answer may be sitting in the socket while the expired timer runs first (Node runs timers before it polls
// for I/O). The budget then gives the read one more turn of the loop, so a stalled loop is not taken for a store
// outage: the scoring bench found 503s at 750 req/s paced with every Redis read answered in well under a
// millisecond.

export const TIMED_OUT = Symbol('timed out');

/** `read`'s answer, or TIMED_OUT when it has not come within `budgetMs` and one more turn of the event loop. */
export function withinBudget<T>(read: Promise<T>, budgetMs: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    // setImmediate runs after the loop's poll phase, where an answer already received is read.
    timer = setTimeout(() => {
      immediate = setImmediate(() => resolve(TIMED_OUT));
    }, budgetMs);
  });
  return Promise.race([read, timeout]).finally(() => {
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  });
}
