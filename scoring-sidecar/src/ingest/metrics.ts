// What `leadrank sync run` exposes on /metrics (prom-client).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SyncOutcome } from './org-sync.js';

export class SyncMetrics {
  readonly registry = new Registry();
  private readonly lag: Histogram;
  private readonly rows: Counter<'outcome'>;
  private readonly errors: Counter;
  private readonly pulls: Counter<'mode'>;
  private readonly watermarkAge: Gauge;
  private readonly lastSuccess: Gauge;
  private watermarkMs: number | null = null;

  constructor(
    private readonly region: string,
    opts: { defaultMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels({ region });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.lag = new Histogram({
      name: 'leadrank_sync_lag_seconds',
      help: 'Org change (SystemModstamp) to store and worklist write, per change applied by an incremental pull',
      buckets: [1, 5, 15, 30, 60, 120, 300, 900, 3600],
      registers: [this.registry],
    });
    this.rows = new Counter({
      name: 'leadrank_sync_rows_total',
      help: 'Lead rows read by the org sync, by what was done with them',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'leadrank_sync_errors_total',
      help: 'Sync pulls that failed (the watermark stayed where it was)',
      registers: [this.registry],
    });
    this.pulls = new Counter({
      name: 'leadrank_sync_pulls_total',
      help: 'Sync pulls completed, full or incremental',
      labelNames: ['mode'],
      registers: [this.registry],
    });
    const watermarkMs = () => this.watermarkMs;
    this.watermarkAge = new Gauge({
      name: 'leadrank_sync_watermark_age_seconds',
      help: 'Now minus the newest SystemModstamp applied (grows while the sync is stuck or the org is quiet)',
      registers: [this.registry],
      collect() {
        const ms = watermarkMs();
        if (ms !== null) this.set((Date.now() - ms) / 1000);
      },
    });
    this.lastSuccess = new Gauge({
      name: 'leadrank_sync_last_success_timestamp_seconds',
      help: 'When the last pull succeeded (Unix time)',
      registers: [this.registry],
    });
  }

  changeApplied(lagMs: number): void {
    this.lag.observe(Math.max(0, lagMs) / 1000);
  }

  pulled(outcome: SyncOutcome): void {
    this.pulls.inc({ mode: outcome.mode });
    const add = (label: string, n: number) => n > 0 && this.rows.inc({ outcome: label }, n);
    add('upserted', outcome.upserted - outcome.closed);
    add('closed', outcome.closed);
    add('deleted', outcome.removed.deleted);
    add('merged', outcome.removed.merged);
    add('converted', outcome.removed.converted);
    add('duplicate', outcome.duplicates);
    add('reconciled', outcome.reconciled);
    if (outcome.watermark) this.watermarkMs = Date.parse(outcome.watermark);
    this.lastSuccess.set(Date.now() / 1000);
  }

  failed(): void {
    this.errors.inc();
  }
}
