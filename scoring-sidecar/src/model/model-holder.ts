// Keeps the current champion model and swaps in a new one when the registry alias moves, without dropping a
// prediction: the new version is fetched, loaded and checked in the background, then replaces the old one in
// a single assignment. Predictions already running on the old model finish on it (reference count); its
// onnxruntime session is released once none is left and a grace period has passed.
import { pino, type Logger } from 'pino';
import {
  ACTIVE_SPEC,
  servingDefinitions,
  storedLeadFields,
  type ActiveSpec,
  type FeatureDefinition,
  type FeatureSpec,
} from '../features/index.js';
import { loadOnnxModel, type OnnxModel } from './onnx-scorer.js';
import type { AliasName, ModelRegistry } from './registry.js';

export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const DEFAULT_RETIRE_GRACE_MS = 1_000;

/** A loaded model as callers see it. Use it right after `current()`: a retired model closes after its grace. */
export interface ServingModel<P = undefined> {
  readonly version: string;
  readonly spec: FeatureSpec;
  /** The serving code's definitions for the spec's features, in spec order. */
  readonly definitions: readonly FeatureDefinition[];
  readonly loadedAt: Date;
  /** What `prepare` read from the version's directory before the swap (explainer, score scale…). */
  readonly prepared: P;
  predict(rows: Float32Array, nRows: number): Promise<Float64Array>;
}

/** Metric-friendly state: what is served, since when, and the last failure (kept until a later success). */
export interface ModelHolderStatus {
  alias: AliasName;
  version: string | null;
  loadedAt: string | null;
  lastCheckAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  swaps: number;
  /** Retired models whose sessions are still open (in-flight predictions or grace period). */
  retiredOpen: number;
}

export interface ModelHolderOptions<P = undefined> {
  registry: ModelRegistry;
  /** Local directory that versions are copied into before loading. */
  cacheDir: string;
  alias?: AliasName;
  pollIntervalMs?: number;
  retireGraceMs?: number;
  /**
   * The active spec (default $LEADRANK_FEATURE_SPEC or config/features/lead.json): a model trained with it is
   * served by its definitions; a model trained with another spec by that spec's own definitions when
   * `storeFields` holds every field it reads (servability.ts).
   */
  active?: ActiveSpec;
  /** The fields the online store holds of each record (default: the profile plus the active spec's custom). */
  storeFields?: readonly string[];
  /** Loads a fetched model directory (tests inject failures); default loadOnnxModel. */
  load?: (modelDir: string) => Promise<OnnxModel>;
  /**
   * Reads whatever else the callers need from the fetched directory (the explainer, the score scale) BEFORE the
   * swap: a version whose files cannot be read fails here and the previous model keeps serving, instead of
   * being swapped in and failing on every request afterwards.
   */
  prepare?: (modelDir: string, model: OnnxModel) => P | Promise<P>;
  logger?: Logger;
}

interface Entry<P> {
  model: OnnxModel;
  serving: ServingModel<P>;
  inFlight: number;
  retired: boolean;
  graceOver: boolean;
  closed: boolean;
}

export class ModelHolder<P = undefined> {
  private active: Entry<P> | null = null;
  private readonly retired = new Set<Entry<P>>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private stopped = false;
  private lastReportedError: string | null = null;
  private readonly state: Omit<ModelHolderStatus, 'version' | 'loadedAt' | 'retiredOpen'>;
  private readonly log: Logger;
  private readonly load: (modelDir: string) => Promise<OnnxModel>;
  private readonly activeSpec: ActiveSpec;
  private readonly storeFields: readonly string[];
  private readonly graceMs: number;

  constructor(private readonly opts: ModelHolderOptions<P>) {
    this.state = {
      alias: opts.alias ?? 'champion',
      lastCheckAt: null,
      lastError: null,
      lastErrorAt: null,
      swaps: 0,
    };
    this.log = opts.logger ?? pino({ name: 'model-holder', level: process.env.LOG_LEVEL ?? 'info' });
    this.load = opts.load ?? loadOnnxModel;
    this.activeSpec = opts.active ?? ACTIVE_SPEC;
    this.storeFields = opts.storeFields ?? storedLeadFields(this.activeSpec.source.config);
    this.graceMs = opts.retireGraceMs ?? DEFAULT_RETIRE_GRACE_MS;
  }

  /** Loads the aliased version (if any), then polls the alias every `pollIntervalMs`. */
  async start(): Promise<void> {
    await this.checkNow();
    if (this.stopped || this.timer) return;
    this.timer = setInterval(
      () => void this.checkNow(),
      this.opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    );
    this.timer.unref();
  }

  /** The model to score with, or null (no champion loaded: the caller falls back to rules). */
  current(): ServingModel<P> | null {
    return this.active?.serving ?? null;
  }

  /** Scores on the current model and says which version answered. */
  async predict(
    rows: Float32Array,
    nRows: number,
  ): Promise<{ version: string; probabilities: Float64Array }> {
    const model = this.current();
    if (!model) throw new Error('no model loaded');
    return { version: model.version, probabilities: await model.predict(rows, nRows) };
  }

  status(): ModelHolderStatus {
    return {
      ...this.state,
      version: this.active?.serving.version ?? null,
      loadedAt: this.active?.serving.loadedAt.toISOString() ?? null,
      retiredOpen: this.retired.size,
    };
  }

  /**
   * One poll of the alias that starts after this call (polls never overlap: while one runs, one more is queued
   * and shared by every caller); resolves when any swap it started is done.
   */
  checkNow(): Promise<void> {
    if (this.polling) {
      this.queued ??= this.polling.then(() => {
        this.queued = null;
        return this.checkNow();
      });
      return this.queued;
    }
    this.polling = this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queued;
    await this.polling;
    if (this.active) this.retire(this.active, 0);
    this.active = null;
  }

  private async poll(): Promise<void> {
    this.state.lastCheckAt = new Date().toISOString();
    try {
      const doc = await this.opts.registry.alias(this.state.alias);
      // No alias: keep whatever is loaded (an alias is never deleted by the registry tools).
      if (!doc || doc.version === this.active?.serving.version) return;
      // The cheap spec check first: a model the serving code cannot feed is never fetched or loaded.
      this.definitionsFor(await this.opts.registry.featureSpec(doc.version), doc.version);
      const dir = await this.opts.registry.fetchVersion(doc.version, this.opts.cacheDir);
      const model = await this.load(dir);
      let definitions: FeatureDefinition[];
      let prepared: P;
      try {
        if (model.version !== doc.version)
          throw new Error(`${dir} holds ${model.version}, not ${doc.version}`);
        definitions = this.definitionsFor(model.spec, doc.version);
        prepared = this.opts.prepare ? await this.opts.prepare(dir, model) : (undefined as P); // P defaults to undefined when no prepare is given
      } catch (err) {
        await model.close();
        throw err;
      }
      if (this.stopped) {
        await model.close();
        return;
      }
      this.swap(model, definitions, prepared);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.state.lastError = message;
      this.state.lastErrorAt = new Date().toISOString();
      if (message !== this.lastReportedError) {
        this.log.error(
          { err: message, alias: this.state.alias, serving: this.active?.serving.version ?? null },
          'model load failed; keeping the current model',
        );
      }
      this.lastReportedError = message;
    }
  }

  private definitionsFor(spec: FeatureSpec, version: string): FeatureDefinition[] {
    try {
      return servingDefinitions(spec, this.activeSpec, this.storeFields);
    } catch (err) {
      throw new Error(`${version} is not servable: ${(err as Error).message}`);
    }
  }

  private swap(model: OnnxModel, definitions: FeatureDefinition[], prepared: P): void {
    // eslint-disable-next-line prefer-const -- the closure below reads it; it is assigned once it exists
    let entry: Entry<P>;
    const serving: ServingModel<P> = {
      version: model.version,
      spec: model.spec,
      definitions,
      prepared,
      loadedAt: new Date(),
      predict: async (rows, nRows) => {
        if (entry.closed)
          throw new Error(`model ${model.version} was retired and closed: call current() again`);
        entry.inFlight++;
        try {
          return await model.predict(rows, nRows);
        } finally {
          entry.inFlight--;
          this.closeIfIdle(entry);
        }
      },
    };
    entry = { model, serving, inFlight: 0, retired: false, graceOver: false, closed: false };
    const previous = this.active;
    this.active = entry; // the swap: every later current() sees the new model
    this.state.swaps++;
    this.state.lastError = null;
    this.state.lastErrorAt = null;
    this.lastReportedError = null;
    this.log.info(
      { alias: this.state.alias, version: model.version, previous: previous?.serving.version ?? null },
      'model swapped in',
    );
    if (previous) this.retire(previous, this.graceMs);
  }

  private retire(entry: Entry<P>, graceMs: number): void {
    entry.retired = true;
    this.retired.add(entry);
    const over = () => {
      entry.graceOver = true;
      this.closeIfIdle(entry);
    };
    if (graceMs <= 0) over();
    else setTimeout(over, graceMs).unref();
  }

  private closeIfIdle(entry: Entry<P>): void {
    if (!entry.retired || !entry.graceOver || entry.inFlight > 0 || entry.closed) return;
    entry.closed = true;
    this.retired.delete(entry);
    entry.model.close().catch((err: unknown) => {
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), version: entry.model.version },
        'closing a retired model failed',
      );
    });
  }
}
