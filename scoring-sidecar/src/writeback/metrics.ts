// Prometheus metrics of the write-back consumer, in the process's registry (its /metrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class WritebackMetrics {
  readonly lag: Histogram<'region'>;
  readonly written: Counter<'region' | 'path'>;
  readonly deadLettered: Counter<'region' | 'code'>;
  readonly superseded: Counter<'region'>;
  readonly retried: Counter<'region' | 'code'>;
  /** The alert's gauge (monitoring's recordWritebackLag sets it where a Monitor runs, as in `serve`). */
  readonly lagGauge: Gauge<'region'> | null;

  /** `lagGauge`: register leadrank_writeback_lag_seconds here (a worker process, which has no Monitor). */
  constructor(registry: Registry, o: { lagGauge?: boolean } = {}) {
    const registers = [registry];
    this.lagGauge = o.lagGauge
      ? new Gauge({
          name: 'leadrank_writeback_lag_seconds',
          help: 'Age of the oldest score change not yet written back to Salesforce',
          labelNames: ['region'],
          registers,
        })
      : null;
    this.lag = new Histogram({
      name: 'leadrank_writeback_write_lag_seconds',
      help: 'Time from a score change being queued to its write to Salesforce',
      labelNames: ['region'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    });
    this.written = new Counter({
      name: 'leadrank_writeback_written_total',
      help: 'Score changes written to Salesforce by the write-back consumer, by API (collections, bulk)',
      labelNames: ['region', 'path'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'leadrank_writeback_dead_lettered_total',
      help: 'Score changes moved to the dead-letter list, by Salesforce error code',
      labelNames: ['region', 'code'],
      registers,
    });
    this.superseded = new Counter({
      name: 'leadrank_writeback_superseded_total',
      help: 'Queued score changes not written because a newer score of the lead was queued or written',
      labelNames: ['region'],
      registers,
    });
    this.retried = new Counter({
      name: 'leadrank_writeback_retries_total',
      help: 'Write attempts repeated, by the error code that caused it',
      labelNames: ['region', 'code'],
      registers,
    });
  }
}
