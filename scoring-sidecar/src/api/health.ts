// Liveness (/healthz) that reflects whether this process can still score. /readyz says "send me traffic"
// (model and store up); /healthz says "restart me": it fails only when a restart is the remedy, i.e. the
// process answers scores with server errors (every request, not one unlucky one) or its model source throws.
// A process scoring by rules because the model is unavailable is alive and degraded, not dead: restarting
// every replica on a bad model would turn a degraded service into an outage.
import type { ModelSource } from '../scoring/index.js';

/** Consecutive 5xx answers on /v1/score after which the process counts as unable to score. */
export const FAILING_AFTER_CONSECUTIVE_ERRORS = 5;

export class ScoreHealth {
  private consecutiveErrors = 0;
  private lastError: string | null = null;

  /**
   * Called with the status of every finished /v1/score response. Only 500 counts: a 503 names a dependency
   * that is down (the store), which a restart of this process would not bring back.
   */
  observe(status: number): void {
    if (status === 500) {
      this.consecutiveErrors++;
      this.lastError = `HTTP ${status}`;
    } else if (status < 400) {
      this.consecutiveErrors = 0;
    }
  }

  check(models: ModelSource): {
    ok: boolean;
    scoring: 'model' | 'rules' | 'failing';
    consecutiveScoreErrors: number;
    detail: string | null;
  } {
    let model: unknown = null;
    try {
      model = models.current();
    } catch (error) {
      return {
        ok: false,
        scoring: 'failing',
        consecutiveScoreErrors: this.consecutiveErrors,
        detail: `model source failed: ${(error as Error).message}`,
      };
    }
    if (this.consecutiveErrors >= FAILING_AFTER_CONSECUTIVE_ERRORS) {
      return {
        ok: false,
        scoring: 'failing',
        consecutiveScoreErrors: this.consecutiveErrors,
        detail: `the last ${this.consecutiveErrors} scores failed (${this.lastError})`,
      };
    }
    return {
      ok: true,
      scoring: model ? 'model' : 'rules',
      consecutiveScoreErrors: this.consecutiveErrors,
      detail: model ? null : models.status().lastError,
    };
  }
}
