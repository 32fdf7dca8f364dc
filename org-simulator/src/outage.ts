// Stands in for an org that is down or out of API allocation for a while: every API request is answered with
// REQUEST_LIMIT_EXCEEDED (403) or SERVER_UNAVAILABLE (503) until a number of requests or a span of time has
// passed. Unlike `errorRate5xx` (random, per request), an outage is a scripted window, for recovery tests.
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { SimulatorContext } from './context.js';
import { sendApiError } from './rest/errors.js';

export const outageSchema = z
  .strictObject({
    errorCode: z.enum(['REQUEST_LIMIT_EXCEEDED', 'SERVER_UNAVAILABLE']),
    /** Answer this many API requests with the error, then recover. */
    requests: z.number().int().min(1).optional(),
    /** Or: answer every request with the error for this long (ms of the org's clock), then recover. */
    durationMs: z.number().int().min(1).optional(),
  })
  .refine((o) => (o.requests === undefined) !== (o.durationMs === undefined), {
    message: 'set exactly one of requests and durationMs',
  });
export type OutageSpec = z.infer<typeof outageSchema>;

export interface OutageState {
  errorCode: OutageSpec['errorCode'];
  remainingRequests: number | null;
  untilMs: number | null;
  /** Requests answered with the error so far. */
  answered: number;
}

const outages = new WeakMap<SimulatorContext, { state: OutageState | null; now: () => number }>();

function slot(ctx: SimulatorContext) {
  let s = outages.get(ctx);
  if (!s) outages.set(ctx, (s = { state: null, now: () => ctx.store.now().getTime() }));
  return s;
}

export function startOutage(ctx: SimulatorContext, spec: OutageSpec): OutageState {
  const s = slot(ctx);
  s.state = {
    errorCode: spec.errorCode,
    remainingRequests: spec.requests ?? null,
    untilMs: spec.durationMs === undefined ? null : s.now() + spec.durationMs,
    answered: 0,
  };
  return { ...s.state };
}

export function endOutage(ctx: SimulatorContext): void {
  slot(ctx).state = null;
}

/** The outage in force, or null (an expired one is cleared). */
export function currentOutage(ctx: SimulatorContext): OutageState | null {
  const s = slot(ctx);
  const o = s.state;
  if (!o) return null;
  if (
    (o.remainingRequests !== null && o.remainingRequests <= 0) ||
    (o.untilMs !== null && s.now() >= o.untilMs)
  ) {
    s.state = null;
    return null;
  }
  return { ...o };
}

/** Answers API requests during an outage, before authentication and usage accounting (nothing is counted). */
export function outageMiddleware(ctx: SimulatorContext): RequestHandler {
  return (_req, res, next) => {
    const outage = currentOutage(ctx);
    if (!outage) return next();
    const s = slot(ctx).state!;
    if (s.remainingRequests !== null) s.remainingRequests--;
    s.answered++;
    if (outage.errorCode === 'REQUEST_LIMIT_EXCEEDED')
      sendApiError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    else
      sendApiError(
        res,
        503,
        'SERVER_UNAVAILABLE',
        'Server is temporarily unavailable. Please try again later.',
      );
  };
}
