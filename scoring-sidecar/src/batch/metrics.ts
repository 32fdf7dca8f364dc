// Prometheus metrics of the batch cycle, in the API's registry when one is given (one /metrics per process).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CycleReport } from './report.js';

export class BatchMetrics {
  readonly registry: Registry;
  private readonly duration: Histogram<'region' | 'source'>;
  private readonly leadsPerSecond: Gauge<'region' | 'stage'>;
  private readonly leads: Counter<'region' | 'outcome'>;
  private readonly failures: Counter<'region' | 'code'>;
  private readonly paused: Gauge;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.duration = new Histogram({
      name: 'leadrank_batch_cycle_duration_seconds',
      help: 'Wall time of a rescoring cycle',
      labelNames: ['region', 'source'],
      buckets: [60, 300, 900, 1800, 3600, 7200, 14_400],
      registers,
    });
    this.leadsPerSecond = new Gauge({
      name: 'leadrank_batch_leads_per_second',
      help: 'Throughput of the last cycle by stage (extract, score, write, cycle)',
      labelNames: ['region', 'stage'],
      registers,
    });
    this.leads = new Counter({
      name: 'leadrank_batch_leads_total',
      help: 'Leads by cycle outcome (scored, unchanged, written, failed, retried)',
      labelNames: ['region', 'outcome'],
      registers,
    });
    this.failures = new Counter({
      name: 'leadrank_batch_failures_total',
      help: 'Rows that could not be written, by Salesforce error code',
      labelNames: ['region', 'code'],
      registers,
    });
    this.paused = new Gauge({
      name: 'leadrank_batch_api_allocation_paused',
      help: '1 while this process waits for the daily API allocation',
      registers,
    });
  }

  allocationPaused(paused: boolean): void {
    this.paused.set(paused ? 1 : 0);
  }

  cycleFinished(r: CycleReport): void {
    const region = r.region;
    this.duration.observe({ region, source: r.scoreSource }, r.durationMs / 1000);
    this.leadsPerSecond.set({ region, stage: 'extract' }, r.stages.extract.rowsPerS);
    this.leadsPerSecond.set({ region, stage: 'score' }, r.stages.score.rowsPerS);
    this.leadsPerSecond.set({ region, stage: 'write' }, r.stages.write.rowsPerS);
    this.leadsPerSecond.set(
      { region, stage: 'cycle' },
      r.durationMs > 0 ? (r.leads.scored / r.durationMs) * 1000 : 0,
    );
    for (const outcome of ['scored', 'unchanged', 'written', 'failed', 'retried'] as const) {
      this.leads.inc({ region, outcome }, r.leads[outcome]);
    }
    for (const [code, n] of Object.entries(r.failedByCode)) this.failures.inc({ region, code }, n);
  }
}
