// Experiment arms around the scoring service: the rules arm, the champion and the lazily loaded challenger, the
// shown scores counted for the dashboard, and shadow scoring of /v1/score while a shadow experiment runs.
import type { Logger } from 'pino';
import type { Region } from '../inputs/index.js';
import {
  createScoringService,
  fixedModelSource,
  type ModelSource,
  type ScoreOutcome,
  type ScoringMetrics,
  type ScoringService,
  type ScoringServiceOptions,
} from '../scoring/index.js';
import type { ArmRanking } from './definition.js';
import type { ExperimentService } from './service.js';

/** Where shown scores are counted (the monitor; structural, so experiments never import monitoring). */
export interface ScoreCounter {
  countScore(region: string, band: string, source: string, scoredAt: string): void;
}

/**
 * Scores shown to someone are counted for the dashboard (in memory; the monitor flushes them). `rulesLabel`
 * names the source of rules scores: 'rules' (a fallback) except in an experiment's rules arm.
 */
export function countingScores(
  inner: ScoringService,
  monitor: ScoreCounter,
  region: Region,
  rulesLabel = 'rules',
): ScoringService {
  return {
    score: async (inputs, ctx) => {
      const outcomes = await inner.score(inputs, ctx);
      for (const o of outcomes)
        if (o.status === 200)
          monitor.countScore(region, o.band, o.source === 'rules' ? rulesLabel : o.source, o.scoredAt);
      return outcomes;
    },
  };
}

/**
 * The scoring services of experiment arms: the champion (the sidecar's own), the rules, and the challenger
 * (loaded on first use). The rules arm scores by rules by design: not a fallback, so no fallback metric and
 * no fallback reason in the audit. A model arm whose model is not loaded falls back to rules as usual
 * (counted, and the experiment's fallback guardrail sees it).
 */
export function armScorings(
  base: Omit<ScoringServiceOptions, 'models'>,
  champion: ScoringService,
  challengerSource: () => Promise<ModelSource>,
  monitor: ScoreCounter,
  region: Region,
) {
  const shown = new Map<string, ScoringService>();
  const shadowed = new Map<string, ScoringService>();
  const raw = new Map<string, ScoringService>();
  const metrics = base.metrics;
  const byChoice: ScoringMetrics | undefined = metrics && {
    scored: (source, n) => metrics.scored(source, n),
    fallback: () => {},
    storeLatency: (operation, seconds) => metrics.storeLatency(operation, seconds),
    inferenceBatch: (rows) => metrics.inferenceBatch(rows),
  };
  const audit = base.audit;
  const rules = createScoringService({
    ...base,
    models: fixedModelSource(null, 'rules arm'),
    ...(byChoice ? { metrics: byChoice } : {}),
    audit: {
      append: (entries) => audit.append(entries.map(({ fallbackReason: _ignored, ...e }) => e)),
    },
  });
  raw.set('rules', rules);
  raw.set('model:champion', champion);
  let challenger: Promise<ModelSource> | null = null;
  const lazyChallenger: ScoringService = {
    score: async (inputs, ctx) => {
      challenger ??= challengerSource();
      const models = await challenger;
      let service = raw.get('model:challenger:loaded');
      if (!service) raw.set('model:challenger:loaded', (service = createScoringService({ ...base, models })));
      return service.score(inputs, ctx);
    },
  };
  raw.set('model:challenger', lazyChallenger);
  const labelOf = (r: ArmRanking) => (r.kind === 'rules' ? 'rules' : `model:${r.alias}`);
  return {
    scoringFor(ranking: ArmRanking, use: 'shown' | 'shadow'): ScoringService {
      const label = labelOf(ranking);
      const inner = raw.get(label)!;
      if (use === 'shadow') {
        let marked = shadowed.get(label);
        // Shadow scores are audited like any score; the caller field says nobody was shown them.
        if (!marked)
          shadowed.set(
            label,
            (marked = {
              score: (inputs, ctx) =>
                inner.score(inputs, { ...ctx, caller: `${ctx.caller}${SHADOW_CALLER}` }),
            }),
          );
        return marked;
      }
      let counted = shown.get(label);
      if (!counted)
        shown.set(
          label,
          // The rules arm's scores are the rules by design: kept apart from the fallback share.
          (counted = countingScores(inner, monitor, region, label === 'rules' ? 'rules_arm' : 'rules')),
        );
      return counted;
    },
    close: async () => (challenger ? (await challenger).close() : undefined),
  };
}

/** Appended to the audit entry's caller for scores computed in shadow (never shown to anyone). */
export const SHADOW_CALLER = ' [shadow]';

/** Shadow batches of /v1/score allowed to run at once; beyond that a request's shadow is skipped (counted). */
const MAX_SHADOW_IN_FLIGHT = 8;

/**
 * Shadow mode on the score route (and event rescoring): while the live experiment runs in shadow with the
 * challenger model as its treatment, the same leads are scored by the challenger after the shown answer is
 * ready, and both are logged (lead ids and scores only) and audited; the caller only ever gets the champion.
 * A bounded number run at once, so a shadow never takes the shown answer's CPU at peak.
 */
export function withShadowScoring(
  shown: ScoringService,
  experiments: Pick<ExperimentService, 'shadowRanking'>,
  scoringFor: (ranking: ArmRanking, use: 'shown' | 'shadow') => ScoringService,
  logger: Logger,
): ScoringService {
  let inFlight = 0;
  let skipped = 0;
  const compact = (o: ScoreOutcome) =>
    o.status === 200
      ? { leadId: o.leadId, score: o.score, band: o.band, source: o.source, modelVersion: o.modelVersion }
      : { leadId: o.leadId, status: o.status };
  return {
    score: async (inputs, ctx) => {
      const outcomes = await shown.score(inputs, ctx);
      const shadow = experiments.shadowRanking();
      if (shadow?.ranking.kind !== 'model' || shadow.ranking.alias !== 'challenger') return outcomes;
      if (inFlight >= MAX_SHADOW_IN_FLIGHT) {
        if (skipped++ % 1000 === 0)
          logger.warn({ experimentId: shadow.experimentId, skipped }, 'shadow scoring skipped: at capacity');
        return outcomes;
      }
      inFlight++;
      void scoringFor(shadow.ranking, 'shadow')
        .score(inputs, ctx)
        .then(
          (shadowed) =>
            logger.info(
              {
                experimentId: shadow.experimentId,
                requestId: ctx.requestId,
                shown: outcomes.map(compact),
                shadow: shadowed.map(compact),
              },
              'shadow scores',
            ),
          (error: unknown) =>
            logger.warn(
              { experimentId: shadow.experimentId, requestId: ctx.requestId, err: (error as Error).message },
              'shadow scoring failed',
            ),
        )
        .finally(() => inFlight--);
      return outcomes;
    },
  };
}
