// Data quality on ingest: late, missing, half-empty and malformed extracts raise their check (and gauge);
// a good delivery clears them; a silent event stream is flagged.
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadMonitoringConfig } from '../src/monitoring/config.js';
import { checkEventStream, checkExtract } from '../src/monitoring/data-quality.js';
import { MonitoringHistory } from '../src/monitoring/history.js';
import { MonitoringMetrics } from '../src/monitoring/metrics.js';
import { Monitor } from '../src/monitoring/monitor.js';

const config = loadMonitoringConfig(fileURLToPath(new URL('../../config/monitoring.json', import.meta.url)));
const erp = config.extracts.erp!;
const row = (i: number, extra: Record<string, unknown> = {}) => ({
  erp_account_number: `A${i}`,
  extract_date: '2025-03-01',
  is_customer: 'true',
  erp_revenue: '125000',
  products_held: '3',
  payment_status: 'current',
  ...extra,
});
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(i));
const history = [1000, 980, 1010, 995, 1003];

describe('extract checks', () => {
  it('passes an on-time, full, valid delivery', () => {
    const check = checkExtract(
      { extract: 'erp', day: '2025-03-01', receivedAt: new Date('2025-03-01T05:10:00Z'), rows: rows(1000) },
      erp,
      history,
      new Date('2025-03-01T08:00:00Z'),
    );
    expect(check.issues).toEqual([]);
  });

  it('flags a missing extract once it is due, not before', () => {
    const delivery = { extract: 'erp', day: '2025-03-01', receivedAt: null, rows: [] };
    expect(checkExtract(delivery, erp, history, new Date('2025-03-01T05:00:00Z')).issues).toEqual([]);
    expect(
      checkExtract(delivery, erp, history, new Date('2025-03-01T07:00:00Z')).issues.map((i) => i.code),
    ).toEqual(['missing']);
  });

  it('flags a late and half-empty delivery', () => {
    const check = checkExtract(
      { extract: 'erp', day: '2025-03-01', receivedAt: new Date('2025-03-01T09:30:00Z'), rows: rows(400) },
      erp,
      history,
      new Date('2025-03-01T10:00:00Z'),
    );
    expect(check.issues.map((i) => i.code).sort()).toEqual(['half_empty', 'late']);
  });

  it('flags schema failures and out-of-range values', () => {
    const bad = [
      ...rows(950),
      ...Array.from({ length: 30 }, (_, i) => row(i, { erp_account_number: '' })),
      ...Array.from({ length: 30 }, (_, i) => row(i, { products_held: '5000' })),
    ];
    const check = checkExtract(
      { extract: 'erp', day: '2025-03-01', receivedAt: new Date('2025-03-01T05:00:00Z'), rows: bad },
      erp,
      history,
      new Date('2025-03-01T06:00:00Z'),
    );
    expect(check.invalidRows).toBe(30);
    expect(check.issues.map((i) => i.code).sort()).toEqual(['range', 'schema']);
  });

  it('sets the check gauges through the monitor, and clears them on a good delivery', async () => {
    const registry = new Registry();
    const metrics = new MonitoringMetrics(registry);
    const monitor = new Monitor({
      metrics,
      history: await MonitoringHistory.open(':memory:'),
      config,
      baseline: null,
    });
    monitor.recordExtract(
      { extract: 'erp', day: '2025-03-01', receivedAt: new Date('2025-03-01T05:00:00Z'), rows: rows(100) },
      history,
      new Date('2025-03-01T06:00:00Z'),
    );
    const value = async (check: string) =>
      (await metrics.extractCheckFailed.get()).values.find(
        (v) => v.labels.check === check && v.labels.extract === 'erp',
      )?.value;
    expect(await value('half_empty')).toBe(1);
    monitor.recordExtract(
      { extract: 'erp', day: '2025-03-02', receivedAt: new Date('2025-03-02T05:00:00Z'), rows: rows(1000) },
      history,
      new Date('2025-03-02T06:00:00Z'),
    );
    expect(await value('half_empty')).toBe(0);
    expect((await metrics.extractRows.get()).values[0]?.value).toBe(1000);
  });
});

describe('event stream', () => {
  it('is stale after the configured lag', () => {
    const now = new Date('2025-03-01T12:00:00Z');
    expect(checkEventStream(new Date('2025-03-01T11:50:00Z'), now, 30).stale).toBe(false);
    expect(checkEventStream(new Date('2025-03-01T11:00:00Z'), now, 30).stale).toBe(true);
    expect(checkEventStream(null, now, 30).stale).toBe(true);
  });
});
