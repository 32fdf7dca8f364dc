// The experiment service: which ranking a rep sees, exposure logging, mode changes (shadow → canary steps →
// full rollout, revert, automatic halt) and reports. The scoring service and the worklist route call
// `servingFor` and `recordExposure`; the CLI and the scheduled guardrail check call the rest.
import type { Logger } from 'pino';
import { buildReport, type ExperimentReport } from './analysis.js';
import { armForBucket, bucketOf } from './assignment.js';
import type { ArmRanking, ExperimentDefinition } from './definition.js';
import type { Arm } from './stats.js';
import type { ExperimentMode, ExperimentState, ExperimentStore } from './store.js';

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
}

const ACTIVE: readonly ExperimentMode[] = ['shadow', 'canary', 'full'];

/** A team-randomized experiment asked about a rep without the rep's team. */
export class TeamRequiredError extends Error {}

export class ExperimentService {
  private readonly now: () => Date;
  /** The first active experiment, cached: the worklist route asks on every call (one in-memory lookup). */
  private active: ExperimentState | null;
  /** Units whose assignment row is already stored, so repeat calls write nothing. */
  private readonly assigned = new Set<string>();

  constructor(
    readonly store: ExperimentStore,
    private readonly opts: ExperimentServiceOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.active = this.readActive();
  }

  private readActive(): ExperimentState | null {
    return this.store.list().find((s) => ACTIVE.includes(s.mode)) ?? null;
  }

  /** Re-reads the active experiment (mode changes made by another process, e.g. the CLI). */
  refreshActive(): ExperimentState | null {
    this.active = this.readActive();
    return this.active;
  }

  /** Refreshes the cached active experiment every `intervalMs`; returns a stop function. */
  scheduleRefresh(intervalMs: number): () => void {
    const timer = setInterval(() => {
      try {
        this.refreshActive();
      } catch (error) {
        this.opts.logger?.error({ err: (error as Error).message }, 'experiment refresh failed');
      }
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  create(definition: ExperimentDefinition, actor: string): ExperimentState {
    if (this.store.get(definition.id)) throw new Error(`experiment ${definition.id} exists`);
    this.store.create(definition, this.now().toISOString(), actor);
    this.refreshActive();
    return this.require(definition.id);
  }

  require(id: string): ExperimentState {
    const state = this.store.get(id);
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

  /** The arm of a rep now (stored on first sight, for the audit); no exposure is logged here. */
  armFor(id: string, repId: string, teamId?: string): Arm {
    return this.armIn(this.require(id), repId, teamId);
  }

  private armIn(state: ExperimentState, repId: string, teamId?: string): Arm {
    const id = state.id;
    const unitId = this.unitOf(state.definition, repId, teamId);
    const bucket = bucketOf(state.definition.salt, unitId);
    const arm = armForBucket(bucket, state.share);
    const key = `${id}\u0000${repId}\u0000${unitId}`;
    if (!this.assigned.has(key)) {
      this.store.recordAssignment(id, repId, {
        unitId,
        arm,
        bucket,
        share: state.share,
        firstSeenAt: this.now().toISOString(),
      });
      this.assigned.add(key);
    }
    return arm;
  }

  /**
   * Hook for the scoring service and worklist route: what this rep is shown under the first active
   * experiment, or null (serve the champion as usual).
   */
  /**
   * While the live experiment runs in shadow mode: its treatment ranking, which every scored request also
   * runs through (logged, never shown). Null in any other mode or with no live experiment.
   */
  shadowRanking(): { experimentId: string; ranking: ArmRanking } | null {
    const state = this.active;
    if (!state || state.mode !== 'shadow') return null;
    return { experimentId: state.id, ranking: state.definition.arms.treatment };
  }

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
   * recorded, or null when nothing was.
   */
  recordExposure(e: ExposureInput): Arm | null {
    const state = this.require(e.experimentId);
    if (state.mode !== 'canary' && state.mode !== 'full') return null;
    const unitId = this.unitOf(state.definition, e.repId, e.teamId);
    const arm = this.armIn(state, e.repId, e.teamId);
    this.store.recordExposure(state.id, {
      repId: e.repId,
      unitId,
      arm,
      share: state.share,
      at: e.at.toISOString(),
      leadIds: e.leadIds,
      fallbackLeads: e.fallbackLeadIds?.length ?? 0,
    });
    return arm;
  }

  private transition(
    id: string,
    action: string,
    toMode: ExperimentMode,
    share: number,
    reason: string,
    actor: string,
  ) {
    this.store.setMode(id, { at: this.now().toISOString(), action, toMode, share, reason, actor });
    this.refreshActive();
    this.opts.logger?.info({ experimentId: id, action, mode: toMode, share }, 'experiment mode changed');
    return this.require(id);
  }

  /** Starts the canary at its first step (from shadow, or again after a halt once the cause is fixed). */
  startCanary(id: string, actor: string, reason = 'canary started'): ExperimentState {
    const state = this.require(id);
    if (!['shadow', 'halted'].includes(state.mode))
      throw new Error(`experiment ${id} is ${state.mode}, not shadow or halted`);
    return this.transition(id, 'canary', 'canary', state.definition.canarySteps[0]!, reason, actor);
  }

  /** Moves a canary to its next step; after the last step, to full rollout. */
  widen(id: string, actor: string, reason = 'widened'): ExperimentState {
    const state = this.require(id);
    if (state.mode !== 'canary') throw new Error(`experiment ${id} is ${state.mode}: only a canary widens`);
    const next = state.definition.canarySteps.find((s) => s > state.share);
    return next === undefined
      ? this.transition(id, 'rollout', 'full', 1, reason, actor)
      : this.transition(id, 'widen', 'canary', next, reason, actor);
  }

  rollout(id: string, actor: string, reason = 'full rollout'): ExperimentState {
    const state = this.require(id);
    if (state.mode !== 'canary') throw new Error(`experiment ${id} is ${state.mode}: roll out from a canary`);
    return this.transition(id, 'rollout', 'full', 1, reason, actor);
  }

  /** One command back to the control (champion) for everyone. */
  revert(id: string, actor: string, reason: string): ExperimentState {
    this.require(id);
    return this.transition(id, 'revert', 'reverted', 0, reason, actor);
  }

  report(id: string): ExperimentReport {
    const state = this.require(id);
    return buildReport({
      state,
      events: this.store.events(id),
      leadExposures: this.store.leadExposures(id),
      unitExposures: this.store.unitExposures(id),
      outcomes: this.store.outcomes(id),
      prePeriod: this.store.prePeriod(id),
      repUnits: this.store.repUnits(id),
      now: this.now(),
    });
  }

  /**
   * The scheduled guardrail check: a canary (or full rollout) with a breached guardrail or a sample ratio
   * mismatch is halted (everyone back on control), and the event says why.
   */
  checkGuardrails(id: string, actor = 'guardrail-check'): { report: ExperimentReport; halted: boolean } {
    const report = this.report(id);
    this.opts.onGuardrails?.(report);
    const state = this.require(id);
    const breached = report.guardrails.filter((g) => g.breached).map((g) => `${g.name}: ${g.detail}`);
    if (report.srm?.mismatch) breached.push(`sample ratio mismatch p=${report.srm.pValue.toExponential(2)}`);
    if (breached.length === 0 || (state.mode !== 'canary' && state.mode !== 'full'))
      return { report, halted: false };
    this.transition(id, 'halt', 'halted', 0, breached.join('; '), actor);
    this.opts.logger?.warn(
      { experimentId: id, breached: breached.length },
      'experiment halted by a guardrail',
    );
    return { report, halted: true };
  }

  /** Runs `checkGuardrails` on every running experiment every `intervalMs`; returns a stop function. */
  scheduleGuardrailChecks(intervalMs: number): () => void {
    const timer = setInterval(() => {
      for (const s of this.store.list()) {
        if (s.mode !== 'canary' && s.mode !== 'full') continue;
        try {
          this.checkGuardrails(s.id);
        } catch (error) {
          this.opts.logger?.error(
            { experimentId: s.id, err: (error as Error).message },
            'guardrail check failed',
          );
        }
      }
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
