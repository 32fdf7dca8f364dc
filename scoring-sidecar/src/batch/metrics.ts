// Prometheus metrics of the batch cycle, in the process's registry when one is given (one /metrics per process).
// The cycle's duration, outcome and last success are monitoring's (leadrank_batch_cycle_duration_seconds,
// leadrank_batch_cycles_total, recorded by BatchMonitor on the coordinator): one definition of each name, so the
// worker's registry can hold both modules' metrics.
import { Counter, Gauge, Registry } from 'prom-client';
import type { CycleReport } from './report.js';

export class BatchMetrics {
  readonly registry: Registry;
  private readonly leadsPerSecond: Gauge<'region' | 'stage'>;
  private readonly leads: Counter<'region' | 'outcome'>;
  private readonly failures: Counter<'region' | 'code'>;
  private readonly paused: Gauge;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
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
