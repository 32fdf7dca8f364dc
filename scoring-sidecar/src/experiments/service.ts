// The experiment service: which ranking a rep sees, exposure logging, mode changes (shadow → canary steps →
// full rollout, revert, automatic halt) and reports. The scoring service and the worklist route call
// `servingFor` and `recordExposure`; the CLI and the scheduled guardrail check call the rest.
// The hot path never waits for the database: `servingFor` and `recordExposure` answer from the cached
// experiment states and queue their rows, which a timer writes in one transaction per experiment (`flush`).
// Replicas share the store (PostgreSQL): arms follow from the shared mode and share (hash buckets), and a mode
// change is a compare-and-set, so of several replicas deciding the same halt exactly one records it.
import type { Logger } from 'pino';
import { buildReport, type ExperimentReport } from './analysis.js';
import { armForBucket, bucketOf } from './assignment.js';
import type { ArmRanking, ExperimentDefinition } from './definition.js';
import type { Arm } from './stats.js';
import {
  ModeChangedError,
  type AssignmentRow,
  type ExperimentMode,
  type ExperimentState,
  type ExperimentStore,
  type ExposureWrite,
} from './store.js';

export interface ServingPlan {
  experimentId: string;
  mode: ExperimentMode;
  arm: Arm;
  /** The ranking this rep is shown. */
  shown: ArmRanking;
  /** Scored and logged, never shown (shadow mode: the treatment's ranking). */
  shadow: ArmRanking | null;
}

export interface ExposureInput {
  experimentId: string;
  repId: string;
  /** Needed when the experiment randomizes teams; else the rep is its own unit. */
  teamId?: string;
  leadIds: readonly string[];
  /** Of those, the leads whose score came from the rules fallback (model unavailable or too slow). */
  fallbackLeadIds?: readonly string[];
  at: Date;
}

export interface ExperimentServiceOptions {
  logger?: Logger;
  now?: () => Date;
  /** Called whenever a guardrail check runs (monitoring metrics). */
  onGuardrails?: (report: ExperimentReport) => void;
  /** How often queued assignments and exposures are written (default 1000 ms). */
  flushIntervalMs?: number;
}

const ACTIVE: readonly ExperimentMode[] = ['shadow', 'canary', 'full'];

/** A team-randomized experiment asked about a rep without the rep's team. */
export class TeamRequiredError extends Error {}

export class ExperimentService {
  private readonly now: () => Date;
  /** Every experiment's state, cached: the worklist route asks on every call (in-memory lookups only). */
  private states = new Map<string, ExperimentState>();
  /** The first active experiment. */
  private active: ExperimentState | null = null;
  /** Units whose assignment row is already stored or queued, so repeat calls write nothing. */
  private readonly assigned = new Set<string>();
  private pendingAssignments = new Map<string, (AssignmentRow & { repId: string })[]>();
  private pendingExposures = new Map<string, ExposureWrite[]>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly stopFlushTimer: () => void;

  private constructor(
    readonly store: ExperimentStore,
    private readonly opts: ExperimentServiceOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    const timer = setInterval(() => {
      this.flush().catch((error: unknown) =>
        this.opts.logger?.error({ err: (error as Error).message }, 'experiment exposure write failed'),
      );
    }, opts.flushIntervalMs ?? 1000);
    timer.unref();
    this.stopFlushTimer = () => clearInterval(timer);
  }

  /** The service over a store, with the experiment states read once (later by `scheduleRefresh`). */
  static async open(store: ExperimentStore, opts: ExperimentServiceOptions = {}): Promise<ExperimentService> {
    const svc = new ExperimentService(store, opts);
    await svc.refreshActive();
    return svc;
  }

  /** Re-reads the experiments (mode changes made by another process or replica, e.g. the CLI). */
  async refreshActive(): Promise<ExperimentState | null> {
    const all = await this.store.list();
    this.states = new Map(all.map((s) => [s.id, s]));
    this.active = all.find((s) => ACTIVE.includes(s.mode)) ?? null;
    return this.active;
  }

  /** Refreshes the cached states every `intervalMs`; returns a stop function. */
  scheduleRefresh(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.refreshActive().catch((error: unknown) =>
        this.opts.logger?.error({ err: (error as Error).message }, 'experiment refresh failed'),
      );
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Writes the queued assignments and exposures (one transaction per experiment). Flushes run one after the
   * other; rows of a failed write are put back for the next one.
   */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const assignments = this.pendingAssignments;
      const exposures = this.pendingExposures;
      this.pendingAssignments = new Map();
      this.pendingExposures = new Map();
      // Rows leave the taken batch once written; whatever is left when a write fails goes back in the queue.
      try {
        for (const [id, rows] of assignments) {
          await this.store.recordAssignments(id, rows);
          assignments.delete(id);
        }
        for (const [id, rows] of exposures) {
          await this.store.recordExposures(id, rows);
          exposures.delete(id);
        }
      } catch (error) {
        requeue(this.pendingAssignments, assignments);
        requeue(this.pendingExposures, exposures);
        throw error;
      }
    });
    const done = this.flushing;
    this.flushing = this.flushing.catch(() => {});
    return done;
  }

  /** Stops the write timer and writes what is queued (the store stays open: its owner closes it). */
  async close(): Promise<void> {
    this.stopFlushTimer();
    await this.flush();
  }

  async create(definition: ExperimentDefinition, actor: string): Promise<ExperimentState> {
    if (await this.store.get(definition.id)) throw new Error(`experiment ${definition.id} exists`);
    await this.store.create(definition, this.now().toISOString(), actor);
    await this.refreshActive();
    return this.require(definition.id);
  }

  async require(id: string): Promise<ExperimentState> {
    const state = await this.store.get(id);
    if (!state) throw new Error(`no experiment ${id}`);
    return state;
  }

  private cached(id: string): ExperimentState {
    const state = this.states.get(id);
    if (!state) throw new Error(`no experiment ${id}`);
    return state;
  }

  private unitOf(def: ExperimentDefinition, repId: string, teamId?: string): string {
    if (def.unit === 'rep') return repId;
    if (!teamId)
      throw new TeamRequiredError(
        `experiment ${def.id} randomizes teams: the caller must give the rep's team`,
      );
    return teamId;
  }

  /** The arm of a rep now (queued for the store on first sight, for the audit); no exposure is logged here. */
  armFor(id: string, repId: string, teamId?: string): Arm {
    return this.armIn(this.cached(id), repId, teamId);
  }

  private armIn(state: ExperimentState, repId: string, teamId?: string): Arm {
    const id = state.id;
    const unitId = this.unitOf(state.definition, repId, teamId);
    const bucket = bucketOf(state.definition.salt, unitId);
    const arm = armForBucket(bucket, state.share);
    const key = `${id}\u0000${repId}\u0000${unitId}`;
    if (!this.assigned.has(key)) {
      const queue = this.pendingAssignments.get(id) ?? [];
      queue.push({ repId, unitId, arm, bucket, share: state.share, firstSeenAt: this.now().toISOString() });
      this.pendingAssignments.set(id, queue);
      this.assigned.add(key);
    }
    return arm;
  }

  /**
   * While the live experiment runs in shadow mode: its treatment ranking, which every scored request also
   * runs through (logged, never shown). Null in any other mode or with no live experiment.
   */
  shadowRanking(): { experimentId: string; ranking: ArmRanking } | null {
    const state = this.active;
    if (!state || state.mode !== 'shadow') return null;
    return { experimentId: state.id, ranking: state.definition.arms.treatment };
  }

  /**
   * Hook for the scoring service and worklist route: what this rep is shown under the first active
   * experiment, or null (serve the champion as usual).
   */
  servingFor(repId: string, teamId?: string): ServingPlan | null {
    const state = this.active;
    if (!state) return null;
    const arm = this.armIn(state, repId, teamId);
    return {
      experimentId: state.id,
      mode: state.mode,
      arm,
      shown: state.definition.arms[arm],
      shadow: state.mode === 'shadow' ? state.definition.arms.treatment : null,
    };
  }

  /**
   * Hook for the worklist route and the LWC score callout: a rep has just seen these leads ranked. Shadow mode
   * logs nothing (nobody sees the challenger); neither do halted or reverted experiments. Returns the arm
   * recorded, or null when nothing was. Queued: written by the next `flush`.
   */
  recordExposure(e: ExposureInput): Arm | null {
    const state = this.cached(e.experimentId);
    if (state.mode !== 'canary' && state.mode !== 'full') return null;
    const unitId = this.unitOf(state.definition, e.repId, e.teamId);
    const arm = this.armIn(state, e.repId, e.teamId);
    const queue = this.pendingExposures.get(state.id) ?? [];
    queue.push({
      repId: e.repId,
      unitId,
      arm,
      share: state.share,
      at: e.at.toISOString(),
      leadIds: e.leadIds,
      fallbackLeads: e.fallbackLeadIds?.length ?? 0,
    });
    this.pendingExposures.set(state.id, queue);
    return arm;
  }

  private async transition(
    from: ExperimentState,
    action: string,
    toMode: ExperimentMode,
    share: number,
    reason: string,
    actor: string,
  ): Promise<ExperimentState> {
    const id = from.id;
    // Exposures queued under the old share are written before the share changes.
    await this.flush();
    await this.store.setMode(
      id,
      { mode: from.mode, share: from.share },
      { at: this.now().toISOString(), action, toMode, share, reason, actor },
    );
    await this.refreshActive();
    this.opts.logger?.info({ experimentId: id, action, mode: toMode, share }, 'experiment mode changed');
    return this.require(id);
  }

  /** Starts the canary at its first step (from shadow, or again after a halt once the cause is fixed). */
  async startCanary(id: string, actor: string, reason = 'canary started'): Promise<ExperimentState> {
    const state = await this.require(id);
    if (!['shadow', 'halted'].includes(state.mode))
      throw new Error(`experiment ${id} is ${state.mode}, not shadow or halted`);
    return this.transition(state, 'canary', 'canary', state.definition.canarySteps[0]!, reason, actor);
  }

  /** Moves a canary to its next step; after the last step, to full rollout. */
  async widen(id: string, actor: string, reason = 'widened'): Promise<ExperimentState> {
    const state = await this.require(id);
    if (state.mode !== 'canary') throw new Error(`experiment ${id} is ${state.mode}: only a canary widens`);
    const next = state.definition.canarySteps.find((s) => s > state.share);
    return next === undefined
      ? this.transition(state, 'rollout', 'full', 1, reason, actor)
      : this.transition(state, 'widen', 'canary', next, reason, actor);
  }

  async rollout(id: string, actor: string, reason = 'full rollout'): Promise<ExperimentState> {
    const state = await this.require(id);
    if (state.mode !== 'canary') throw new Error(`experiment ${id} is ${state.mode}: roll out from a canary`);
    return this.transition(state, 'rollout', 'full', 1, reason, actor);
  }

  /** One command back to the control (champion) for everyone. */
  async revert(id: string, actor: string, reason: string): Promise<ExperimentState> {
    const state = await this.require(id);
    return this.transition(state, 'revert', 'reverted', 0, reason, actor);
  }

  async report(id: string): Promise<ExperimentReport> {
    await this.flush(); // this process's queued exposures count too
    const state = await this.require(id);
    const [events, leadExposures, unitExposures, outcomes, prePeriod, repUnits] = await Promise.all([
      this.store.events(id),
      this.store.leadExposures(id),
      this.store.unitExposures(id),
      this.store.outcomes(id),
      this.store.prePeriod(id),
      this.store.repUnits(id),
    ]);
    return buildReport({
      state,
      events,
      leadExposures,
      unitExposures,
      outcomes,
      prePeriod,
      repUnits,
      now: this.now(),
    });
  }

  /**
   * The scheduled guardrail check: a canary (or full rollout) with a breached guardrail or a sample ratio
   * mismatch is halted (everyone back on control), and the event says why. Several replicas may check at
   * once: the halt is a compare-and-set on the mode the report was built from, so exactly one records it
   * (`halted: true`); the others find the mode changed and record nothing.
   */
  async checkGuardrails(
    id: string,
    actor = 'guardrail-check',
  ): Promise<{ report: ExperimentReport; halted: boolean }> {
    // The state the decision is based on: the halt below only applies if the mode is still this one.
    const state = await this.require(id);
    const report = await this.report(id);
    this.opts.onGuardrails?.(report);
    const breached = report.guardrails.filter((g) => g.breached).map((g) => `${g.name}: ${g.detail}`);
    if (report.srm?.mismatch) breached.push(`sample ratio mismatch p=${report.srm.pValue.toExponential(2)}`);
    if (breached.length === 0 || (state.mode !== 'canary' && state.mode !== 'full'))
      return { report, halted: false };
    try {
      await this.transition(state, 'halt', 'halted', 0, breached.join('; '), actor);
    } catch (error) {
      if (error instanceof ModeChangedError) return { report, halted: false };
      throw error;
    }
    this.opts.logger?.warn(
      { experimentId: id, breached: breached.length },
      'experiment halted by a guardrail',
    );
    return { report, halted: true };
  }

  /** Runs `checkGuardrails` on every running experiment every `intervalMs`; returns a stop function. */
  scheduleGuardrailChecks(intervalMs: number): () => void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return; // a slow check is not stacked on
      running = true;
      void (async () => {
        try {
          for (const s of await this.store.list()) {
            if (s.mode !== 'canary' && s.mode !== 'full') continue;
            try {
              await this.checkGuardrails(s.id);
            } catch (error) {
              this.opts.logger?.error(
                { experimentId: s.id, err: (error as Error).message },
                'guardrail check failed',
              );
            }
          }
        } catch (error) {
          this.opts.logger?.error({ err: (error as Error).message }, 'guardrail check failed');
        } finally {
          running = false;
        }
      })();
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** Puts unwritten rows back in front of those queued since. */
function requeue<T>(queue: Map<string, T[]>, unwritten: Map<string, T[]>): void {
  for (const [id, rows] of unwritten) queue.set(id, [...rows, ...(queue.get(id) ?? [])]);
}
