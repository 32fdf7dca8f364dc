// The batch cycle's monitoring hooks (batch/cycle.ts `CycleMonitorHooks`, matched structurally so monitoring
// never imports batch/). Each scored partition is summarized where it was scored (band and source counts, and
// drift bin counts over a sample of its leads, from the vectors the scoring pipeline computed for them);
// the coordinator merges the summaries once the cycle completes and writes the cycle record, score counts,
// drift and API usage. Summaries are small JSON, so they travel through the cycle state like any task output.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readFeatureSpec, type FeatureSpec } from '../features/index.js';
import { BASELINE_FILE, loadBaseline, type Baseline } from './baseline.js';
import {
  addToDriftCounts,
  driftFromCounts,
  emptyDriftCounts,
  mergeDriftCounts,
  type DriftCounts,
} from './drift.js';
import type { Monitor } from './monitor.js';

export interface MonitoredCycle {
  cycleId: string;
  region: string;
  /** The scoring instant of every lead in the cycle. */
  asOf: string;
  startedAt: string;
  model: { version: string; dir: string } | null;
}

export interface PartitionSummary {
  bands: Record<string, number>;
  sources: Record<string, number>;
  drift: DriftCounts | null;
}

interface ModelDrift {
  spec: FeatureSpec;
  baseline: Baseline;
}

/** A scored lead as the monitor reads it; `vector` is the model input the score came from (none for rules). */
export interface MonitoredScore {
  band: string;
  source: string;
  vector?: readonly (number | null)[];
  /** The calibrated probability (null or absent for rules): prediction drift counts it. */
  probability?: number | null;
}

export interface BatchMonitorOptions {
  monitor: Monitor;
  now?: () => Date;
}

export class BatchMonitor {
  private readonly models = new Map<string, Promise<ModelDrift | null>>();
  private readonly now: () => Date;

  constructor(private readonly o: BatchMonitorOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** The cycle model's spec and baseline (baseline-stats.json beside it, else the monitor's if the spec matches). */
  private modelDrift(model: MonitoredCycle['model']): Promise<ModelDrift | null> {
    if (!model) return Promise.resolve(null);
    let found = this.models.get(model.version);
    if (!found) {
      found = (async () => {
        const spec = await readFeatureSpec(model.dir);
        const file = join(model.dir, BASELINE_FILE);
        const baseline = existsSync(file) ? await loadBaseline(file) : this.o.monitor.baseline;
        if (!baseline || baseline.specHash !== spec.hash) return null;
        return { spec, baseline };
      })();
      this.models.set(model.version, found);
    }
    return found;
  }

  /** On the worker that scored the partition. */
  async summarizePartition(
    cycle: MonitoredCycle,
    _leads: readonly unknown[],
    scored: readonly MonitoredScore[],
  ): Promise<PartitionSummary> {
    const bands: Record<string, number> = {};
    const sources: Record<string, number> = {};
    for (const s of scored) {
      bands[s.band] = (bands[s.band] ?? 0) + 1;
      sources[s.source] = (sources[s.source] ?? 0) + 1;
    }
    const drift = await this.driftSample(cycle, scored);
    return { bands, sources, drift };
  }

  private async driftSample(
    cycle: MonitoredCycle,
    scored: readonly MonitoredScore[],
  ): Promise<DriftCounts | null> {
    const sampleRows = this.o.monitor.config.schedules.driftSampleRowsPerPartition;
    const model = await this.modelDrift(cycle.model).catch(() => null);
    if (!model || sampleRows === 0 || scored.length === 0) return null;
    // An even stride over the partition (leads arrive sorted by Id, so this is an unbiased systematic sample).
    const stride = Math.max(1, Math.ceil(scored.length / sampleRows));
    const counts = emptyDriftCounts(model.baseline);
    let sampled = 0;
    for (let i = 0; i < scored.length; i += stride) {
      const { vector, probability } = scored[i]!;
      if (!vector || vector.length !== model.spec.features.length) continue;
      addToDriftCounts(counts, model.baseline, vector, probability ?? null);
      sampled++;
    }
    return sampled > 0 ? counts : null;
  }

  /** On the coordinator, once per completed cycle. */
  async cycleCompleted(
    cycle: MonitoredCycle,
    outcome: { durationMs: number; leadsScored: number; changesWritten: number },
    summaries: readonly PartitionSummary[],
    orgUsage: { used: number; limit: number } | null,
  ): Promise<void> {
    const m = this.o.monitor;
    await m.recordBatchCycle({
      startedAt: cycle.startedAt,
      region: cycle.region,
      durationSeconds: outcome.durationMs / 1000,
      ok: true,
      leadsScored: outcome.leadsScored,
      changesWritten: outcome.changesWritten,
      error: null,
    });
    const bands: Record<string, number> = {};
    const sources: Record<string, number> = {};
    let drift: DriftCounts | null = null;
    for (const s of summaries) {
      for (const [b, n] of Object.entries(s.bands)) bands[b] = (bands[b] ?? 0) + n;
      for (const [k, n] of Object.entries(s.sources)) sources[k] = (sources[k] ?? 0) + n;
      if (s.drift) drift = drift ? mergeDriftCounts(drift, s.drift) : structuredClone(s.drift);
    }
    const day = cycle.asOf.slice(0, 10);
    await m.addScoreCounts(day, cycle.region, bands, sources);
    const model = drift ? await this.modelDrift(cycle.model).catch(() => null) : null;
    if (drift && model)
      await m.recordDriftSlices([driftFromCounts(model.baseline, drift, day, cycle.region, m.config.drift)]);
    if (orgUsage && orgUsage.limit > 0)
      m.recordApiUsage({
        DailyApiRequests: { Max: orgUsage.limit, Remaining: orgUsage.limit - orgUsage.used },
      });
  }

  /** On the coordinator, when an attempt of the cycle fails (it resumes on retry). */
  async cycleFailed(cycle: MonitoredCycle, error: Error): Promise<void> {
    await this.o.monitor.recordBatchCycle({
      startedAt: cycle.startedAt,
      region: cycle.region,
      durationSeconds: (this.now().getTime() - Date.parse(cycle.startedAt)) / 1000,
      ok: false,
      leadsScored: 0,
      changesWritten: 0,
      error: error.message.slice(0, 300),
    });
  }
}
