import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const probe = fileURLToPath(new URL('./fixtures/heap-probe.ts', import.meta.url));

async function peakHeap(leads: number): Promise<number> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', probe, String(leads)], {
    maxBuffer: 1 << 20,
  });
  return (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { peakHeapUsed: number }).peakHeapUsed;
}

describe('bounded memory', () => {
  it('4× the leads does not grow the live heap by more than a few MB', async () => {
    const small = await peakHeap(6000);
    const large = await peakHeap(24000);
    expect(small).toBeGreaterThan(0);
    expect(large - small).toBeLessThan(6 * 1024 * 1024);
  }, 120_000);
});
