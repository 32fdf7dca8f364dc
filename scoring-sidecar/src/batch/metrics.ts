// Prometheus metrics of the batch cycle, in the process's registry when one is given (one /metrics per process).
// The cycle's duration, outcome and last success are monitoring's (leadrank_batch_cycle_duration_seconds,
// leadrank_batch_cycles_total, recorded by BatchMonitor on the coordinator): one definition of each name, so the
// worker's registry can hold both modules' metrics.
import { Counter, Gauge, Registry } from 'prom-client';
import type { OpportunityCycleReport } from './opportunity-cycle.js';
import type { CycleReport } from './report.js';

export class BatchMetrics {
  readonly registry: Registry;
  private readonly leadsPerSecond: Gauge<'region' | 'stage'>;
  private readonly leads: Counter<'region' | 'outcome'>;
  private readonly failures: Counter<'region' | 'code'>;
  private readonly paused: Gauge;
  private readonly opportunityCycles: Counter<'region' | 'outcome'>;
  private readonly opportunityDeals: Counter<'region' | 'outcome'>;
  private readonly opportunityDuration: Gauge<'region'>;
  private readonly opportunityLastSuccess: Gauge<'region'>;

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
    this.opportunityCycles = new Counter({
      name: 'leadrank_opportunity_cycles_total',
      help: 'Opportunity cycles by outcome (completed, failed, skipped while another ran)',
      labelNames: ['region', 'outcome'],
      registers,
    });
    this.opportunityDeals = new Counter({
      name: 'leadrank_opportunity_deals_total',
      help: 'Open deals by opportunity cycle outcome (scored, changed, written, failed)',
      labelNames: ['region', 'outcome'],
      registers,
    });
    this.opportunityDuration = new Gauge({
      name: 'leadrank_opportunity_cycle_duration_seconds',
      help: 'Duration of the last completed opportunity cycle',
      labelNames: ['region'],
      registers,
    });
    this.opportunityLastSuccess = new Gauge({
      name: 'leadrank_opportunity_cycle_last_success_timestamp_seconds',
      help: 'Unix time the last opportunity cycle completed',
      labelNames: ['region'],
      registers,
    });
  }

  opportunityCycleFinished(r: OpportunityCycleReport): void {
    const region = r.region;
    this.opportunityCycles.inc({ region, outcome: 'completed' });
    const deals = {
      scored: r.scored.model + r.scored.rules,
      changed: r.changes,
      written: r.written,
      failed: r.failed.length,
    };
    for (const [outcome, n] of Object.entries(deals)) this.opportunityDeals.inc({ region, outcome }, n);
    this.opportunityDuration.set({ region }, r.ms / 1000);
    this.opportunityLastSuccess.set({ region }, Date.now() / 1000);
  }

  opportunityCycleFailed(region: string): void {
    this.opportunityCycles.inc({ region, outcome: 'failed' });
  }

  opportunityCycleSkipped(region: string): void {
    this.opportunityCycles.inc({ region, outcome: 'skipped' });
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
