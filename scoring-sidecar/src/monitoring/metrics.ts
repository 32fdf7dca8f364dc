// The monitoring metrics, registered into the sidecar's registry (ApiMetrics.registry) so /metrics serves them
// beside the request, score and fallback metrics. Alert rules in config/alerts/*.yml use only these names and
// ApiMetrics'; a test checks that.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class MonitoringMetrics {
  readonly batchCycleDuration: Histogram<'region'>;
  readonly batchCycles: Counter<'region' | 'outcome'>;
  readonly batchLastSuccess: Gauge<'region'>;
  readonly writebackLag: Gauge<'region'>;
  readonly apiUsage: Gauge<'limit'>;
  readonly featurePsi: Gauge<'feature' | 'region'>;
  readonly featureMissingIncrease: Gauge<'feature' | 'region'>;
  readonly featuresAlerting: Gauge<'region'>;
  readonly predictionPsi: Gauge<'region'>;
  readonly calibrationEce: Gauge<'region'>;
  readonly extractAge: Gauge<'extract'>;
  readonly extractRows: Gauge<'extract'>;
  readonly extractCheckFailed: Gauge<'extract' | 'check'>;
  readonly eventStreamLag: Gauge;
  readonly guardrailBreached: Gauge<'experiment' | 'guardrail'>;
  readonly experimentShare: Gauge<'experiment' | 'mode'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.batchCycleDuration = new Histogram({
      name: 'leadrank_batch_cycle_duration_seconds',
      help: 'Duration of a batch scoring cycle (extract, score, write back)',
      labelNames: ['region'],
      buckets: [60, 300, 600, 1200, 1800, 2700, 3600, 5400, 7200, 10800],
      registers,
    });
    this.batchCycles = new Counter({
      name: 'leadrank_batch_cycles_total',
      help: 'Batch cycles by outcome (success, failure)',
      labelNames: ['region', 'outcome'],
      registers,
    });
    this.batchLastSuccess = new Gauge({
      name: 'leadrank_batch_last_success_timestamp_seconds',
      help: 'Unix time the last batch cycle succeeded',
      labelNames: ['region'],
      registers,
    });
    this.writebackLag = new Gauge({
      name: 'leadrank_writeback_lag_seconds',
      help: 'Age of the oldest score change not yet written back to Salesforce',
      labelNames: ['region'],
      registers,
    });
    this.apiUsage = new Gauge({
      name: 'leadrank_salesforce_api_usage_ratio',
      help: 'Share of a Salesforce allocation used in its window (from /limits), by limit name',
      labelNames: ['limit'],
      registers,
    });
    this.featurePsi = new Gauge({
      name: 'leadrank_feature_psi',
      help: "Population stability index of a feature's last day against the training baseline",
      labelNames: ['feature', 'region'],
      registers,
    });
    this.featureMissingIncrease = new Gauge({
      name: 'leadrank_feature_missing_rate_increase',
      help: 'Missing-value rate of a feature minus its training rate (last day)',
      labelNames: ['feature', 'region'],
      registers,
    });
    this.featuresAlerting = new Gauge({
      name: 'leadrank_features_drift_alerting',
      help: 'Features whose drift status is alert (last day)',
      labelNames: ['region'],
      registers,
    });
    this.predictionPsi = new Gauge({
      name: 'leadrank_prediction_psi',
      help: 'PSI of the score distribution against the training scores (last day)',
      labelNames: ['region'],
      registers,
    });
    this.calibrationEce = new Gauge({
      name: 'leadrank_calibration_ece',
      help: 'Expected calibration error over score deciles on labelled leads',
      labelNames: ['region'],
      registers,
    });
    this.extractAge = new Gauge({
      name: 'leadrank_extract_age_seconds',
      help: 'Age of the newest delivery of a daily extract',
      labelNames: ['extract'],
      registers,
    });
    this.extractRows = new Gauge({
      name: 'leadrank_extract_rows',
      help: 'Rows in the newest delivery of a daily extract',
      labelNames: ['extract'],
      registers,
    });
    this.extractCheckFailed = new Gauge({
      name: 'leadrank_extract_check_failed',
      help: 'A data-quality check of the newest extract failed (1) or passed (0)',
      labelNames: ['extract', 'check'],
      registers,
    });
    this.eventStreamLag = new Gauge({
      name: 'leadrank_event_stream_lag_seconds',
      help: 'Seconds since the newest engagement event arrived',
      registers,
    });
    this.guardrailBreached = new Gauge({
      name: 'leadrank_experiment_guardrail_breached',
      help: 'An experiment guardrail is breached (1) or not (0), from the last check',
      labelNames: ['experiment', 'guardrail'],
      registers,
    });
    this.experimentShare = new Gauge({
      name: 'leadrank_experiment_treatment_share',
      help: 'Share of units shown the treatment, with the experiment mode',
      labelNames: ['experiment', 'mode'],
      registers,
    });
  }
}
