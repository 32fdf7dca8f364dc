import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiFetch, errorOf, lead, startHarness, type Harness } from './sim-harness.js';

async function admin(h: Harness, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${h.sim.url}/__admin${path}`, { ...init, headers: { 'Content-Type': 'application/json' } });
}

describe('limits and fault knobs', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ faults: { dailyApiRequests: 10 } });
  });
  afterEach(() => h.sim.close());

  it('counts every authenticated call and reports it in /limits and Sforce-Limit-Info', async () => {
    const before = (await h.conn.limits()) as unknown as Record<string, { Max: number; Remaining: number }>;
    expect(before.DailyApiRequests?.Max).toBe(10);
    await h.conn.query('SELECT Id FROM Lead');
    await h.conn.sobject('Lead').create(lead(1));
    const after = (await h.conn.limits()) as unknown as Record<string, { Max: number; Remaining: number }>;
    expect((before.DailyApiRequests?.Remaining ?? 0) - (after.DailyApiRequests?.Remaining ?? 0)).toBe(3);
    for (const key of [
      'DailyBulkApiBatches',
      'DailyBulkV2QueryJobs',
      'DailyBulkV2QueryFileStorageMB',
      'DataStorageMB',
    ]) {
      expect(after[key]).toEqual({ Max: expect.any(Number), Remaining: expect.any(Number) });
    }
    const res = await apiFetch(h, '/services/data/v62.0/limits');
    expect(res.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/10$/);
    const health = await admin(h, '/health');
    expect(health.status).toBe(200);
    expect(h.sim.ctx.apiUsage.used()).toBe(5);
  });

  it('answers 403 REQUEST_LIMIT_EXCEEDED past the allocation until the counter is reset', async () => {
    for (let i = 0; i < 10; i++) await h.conn.query('SELECT Id FROM Lead LIMIT 1');
    const error = await errorOf(h.conn.query('SELECT Id FROM Lead LIMIT 1'));
    expect(error.errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(error.message).toBe('TotalRequests Limit exceeded.');
    expect((await admin(h, '/usage/reset', { method: 'POST' })).status).toBe(200);
    expect((await h.conn.query('SELECT Id FROM Lead LIMIT 1')).done).toBe(true);
  });

  it('answers every API request with 503/500 at errorRate5xx=1, and none once reset', async () => {
    const put = await admin(h, '/faults', {
      method: 'PUT',
      body: JSON.stringify({ errorRate5xx: 1, dailyApiRequests: 1000 }),
    });
    expect(((await put.json()) as { errorRate5xx: number }).errorRate5xx).toBe(1);
    for (let i = 0; i < 6; i++) {
      const res = await apiFetch(h, '/services/data/v62.0/limits');
      expect([500, 503]).toContain(res.status);
      const [body] = (await res.json()) as { errorCode: string }[];
      expect(['SERVER_UNAVAILABLE', 'UNKNOWN_EXCEPTION']).toContain(body?.errorCode);
    }
    await admin(h, '/faults', { method: 'PUT', body: JSON.stringify({ errorRate5xx: 0 }) });
    expect((await apiFetch(h, '/services/data/v62.0/limits')).status).toBe(200);
  });

  it('fails the same requests for the same seed', async () => {
    const statuses = async () => {
      await admin(h, '/faults', {
        method: 'PUT',
        body: JSON.stringify({ errorRate5xx: 0.5, seed: 7, dailyApiRequests: 1000 }),
      });
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await apiFetch(h, '/services/data/v62.0/limits')).status);
      return out;
    };
    const first = await statuses();
    expect(await statuses()).toEqual(first);
    expect(first.some((s) => s === 200)).toBe(true);
    expect(first.some((s) => s >= 500)).toBe(true);
  });

  it('holds responses back by latencyMs', async () => {
    await admin(h, '/faults', { method: 'PUT', body: JSON.stringify({ latencyMs: 1500 }) });
    let settled = false;
    const pending = apiFetch(h, '/services/data/v62.0/limits').then((res) => {
      settled = true;
      return res.status;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    expect(await pending).toBe(200);
  });

  it('rejects invalid fault settings', async () => {
    const res = await admin(h, '/faults', { method: 'PUT', body: JSON.stringify({ errorRate5xx: 2 }) });
    expect(res.status).toBe(400);
    expect(((await (await admin(h, '/faults')).json()) as { errorRate5xx: number }).errorRate5xx).toBe(0);
  });
});
