// Prometheus metrics of one sidecar process (one registry per app, so tests can run several apps).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FallbackReason, ScoreSource, ScoringMetrics } from '../scoring/index.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class ApiMetrics implements ScoringMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'route' | 'method' | 'status'>;
  private readonly scores: Counter<'source'>;
  private readonly fallbacks: Counter<'reason'>;
  private readonly modelInfo: Gauge<'version' | 'mode'>;
  private readonly store: Histogram<'operation'>;
  private readonly batchRows: Histogram;
  private readonly writeback: Counter;
  private shownVersion: { version: string; mode: string } | null = null;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.requestDuration = new Histogram({
      name: 'leadrank_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route', 'method', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.scores = new Counter({
      name: 'leadrank_scores_total',
      help: 'Leads scored, by source (model or rules)',
      labelNames: ['source'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'leadrank_fallbacks_total',
      help: 'Leads scored by rules instead of the model, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'leadrank_model_info',
      help: 'The model version being served (1), or mode rules-only with the rule set version',
      labelNames: ['version', 'mode'],
      registers,
    });
    this.store = new Histogram({
      name: 'leadrank_store_latency_seconds',
      help: 'Online feature store latency by operation',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.batchRows = new Histogram({
      name: 'leadrank_inference_batch_rows',
      help: 'Rows per onnxruntime run (micro-batching)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.writeback = new Counter({
      name: 'leadrank_writeback_jobs_total',
      help: 'Material score changes queued for write-back to Salesforce',
      registers,
    });
    for (const reason of [
      'no_model',
      'model_unavailable',
      'model_error',
      'deadline',
      'store_unavailable',
    ] as const)
      this.fallbacks.inc({ reason }, 0);
    for (const source of ['model', 'rules'] as const) this.scores.inc({ source }, 0);
  }

  scored(source: ScoreSource, count: number): void {
    this.scores.inc({ source }, count);
  }

  fallback(reason: FallbackReason, count: number): void {
    this.fallbacks.inc({ reason }, count);
  }

  storeLatency(operation: string, seconds: number): void {
    this.store.observe({ operation }, seconds);
  }

  inferenceBatch(rows: number): void {
    this.batchRows.observe(rows);
  }

  writebackQueued(count: number): void {
    this.writeback.inc(count);
  }

  /** Sets the info gauge to the version now served (model version, or the rule set's in rules-only mode). */
  showVersion(version: string, mode: 'model' | 'rules'): void {
    if (this.shownVersion?.version === version && this.shownVersion.mode === mode) return;
    this.modelInfo.reset();
    this.modelInfo.set({ version, mode }, 1);
    this.shownVersion = { version, mode };
  }
}
