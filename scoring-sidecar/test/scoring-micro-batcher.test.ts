import { describe, expect, it } from 'vitest';
import { MicroBatcher } from '../src/scoring/micro-batcher.js';

describe('MicroBatcher', () => {
  it('runs concurrent submissions once and hands each caller its own slice of a multi-value result', async () => {
    const runs: number[] = [];
    // Two values per row: the row's sum and its first value, so each slice is checkable.
    const batcher = new MicroBatcher<Float64Array>(
      (rows, n) => {
        runs.push(n);
        const out = new Float64Array(n * 2);
        for (let r = 0; r < n; r++) {
          out[r * 2] = rows[r * 3]! + rows[r * 3 + 1]! + rows[r * 3 + 2]!;
          out[r * 2 + 1] = rows[r * 3]!;
        }
        return out;
      },
      3,
      { windowMs: 0, maxRows: 64, outWidth: 2, rowType: Float64Array as new (n: number) => Float64Array },
    );
    const a = batcher.submit(Float64Array.of(1, 2, 3), 1);
    const b = batcher.submit(Float64Array.of(0.1, 0.2, 0.3, 10, 20, 30), 2);
    const [ra, rb] = await Promise.all([a, b]);
    expect(runs).toEqual([3]);
    expect([...ra]).toEqual([6, 1]);
    expect([...rb]).toEqual([0.1 + 0.2 + 0.3, 0.1, 60, 10]);
  });

  it('runs at once when the batch is full and rejects every caller of a failed run', async () => {
    const runs: number[] = [];
    const batcher = new MicroBatcher(
      (_rows, n) => {
        runs.push(n);
        return Promise.reject(new Error('model down'));
      },
      1,
      { windowMs: 10_000, maxRows: 2 },
    );
    const results = await Promise.allSettled([
      batcher.submit(Float32Array.of(1), 1),
      batcher.submit(Float32Array.of(2), 1),
    ]);
    expect(runs).toEqual([2]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(batcher.submit(Float32Array.of(1, 2), 1)).rejects.toThrow(/expected 1 x 1 values/);
  });

  it('runs a lone row without waiting for the window, and batches the rows that arrive during a run', async () => {
    const runs: number[] = [];
    const releases: (() => void)[] = [];
    const batcher = new MicroBatcher(
      (rows, n) => {
        runs.push(n);
        return new Promise<Float64Array>((resolve) =>
          releases.push(() => resolve(Float64Array.from(rows, (x) => x * 2))),
        );
      },
      1,
      { windowMs: 0, maxRows: 64 },
    );
    // A window of 0 with a run in flight: the rows wait for that run, not for a timer.
    const first = batcher.submit(Float32Array.of(1), 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([1]);
    const second = batcher.submit(Float32Array.of(2), 1);
    const third = batcher.submit(Float32Array.of(3), 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([1]); // still in flight: no second run yet
    releases.shift()!();
    expect([...(await first)]).toEqual([2]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toEqual([1, 2]); // the two that waited, as one batch
    releases.shift()!();
    expect([...(await second), ...(await third)]).toEqual([4, 6]);
    // A long window never delays a lone row: with nothing in flight it runs once the I/O callbacks are done.
    const slow = new MicroBatcher((rows) => Float64Array.from(rows), 1, { windowMs: 60_000, maxRows: 64 });
    expect([...(await slow.submit(Float32Array.of(5), 1))]).toEqual([5]);
  });
});
