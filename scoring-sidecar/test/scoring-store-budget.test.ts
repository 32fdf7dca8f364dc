// The store read budget (scoring/store-budget.ts) against the real Redis: a read that has not answered within the
// budget is an outage (the request answers at once), but a read answered while the event loop was blocked past the
// budget is used; the late timer is not taken for a slow store.
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TIMED_OUT, withinBudget } from '../src/scoring/store-budget.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const key = `store-budget-${process.pid}`;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await redis.set(key, 'held');
});

afterAll(async () => {
  await redis.del(key);
  await redis.quit();
});

/** Blocks the event loop for `ms`, as a long GC pause or a slow synchronous call does. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: no timer, no I/O callback runs meanwhile
  }
}

describe('withinBudget', () => {
  it('answers with the read when it comes in time', async () => {
    expect(await withinBudget(redis.get(key), 200)).toBe('held');
  });

  it('answers TIMED_OUT, near the budget, when the store does not answer', async () => {
    const slow = new Redis(REDIS_URL);
    try {
      const started = performance.now();
      // BLPOP on an empty list: Redis answers after 1 s, far past the budget.
      const answer = await withinBudget(slow.blpop(`${key}:empty`, 1), 30);
      expect(answer).toBe(TIMED_OUT);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      slow.disconnect();
    }
  });

  it('uses an answer that arrived while the event loop was blocked past the budget', async () => {
    for (let run = 0; run < 5; run++) {
      const read = redis.get(key); // on the wire now: ioredis writes it before the loop turns
      const answer = withinBudget(read, 20);
      // The loop stalls for 3x the budget in this turn's check phase (as a request handler or a batch of
      // immediates would); Redis answers meanwhile, the answer waits in the socket, and the next turn runs the
      // expired timer before it polls the socket.
      setImmediate(() => blockLoop(60));
      expect(await answer).toBe('held');
    }
  });
});
