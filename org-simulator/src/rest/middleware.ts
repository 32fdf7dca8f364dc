// Stands in for the REST API's front door: session check, API usage accounting, injected faults.
import type { RequestHandler } from 'express';
import type { OAuthService } from '../auth/oauth.js';
import type { SimulatorContext } from '../context.js';
import { sendApiError } from './errors.js';

/** Injected latency and 5xx answers, decided before any work is done. */
export function faultMiddleware(ctx: SimulatorContext): RequestHandler {
  return async (_req, res, next) => {
    const { latencyMs, errorRate5xx } = ctx.faults.config();
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (errorRate5xx > 0 && ctx.faults.random() < errorRate5xx) {
      if (ctx.faults.random() < 0.5) {
        sendApiError(
          res,
          503,
          'SERVER_UNAVAILABLE',
          'Server is temporarily unavailable. Please try again later.',
        );
      } else {
        sendApiError(
          res,
          500,
          'UNKNOWN_EXCEPTION',
          'An unexpected error occurred. Please include this ErrorId if you contact support',
        );
      }
      return;
    }
    next();
  };
}

/** Bearer token check (401 INVALID_SESSION_ID) and DailyApiRequests accounting (403 REQUEST_LIMIT_EXCEEDED). */
export function authAndUsageMiddleware(ctx: SimulatorContext, auth: OAuthService): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(header);
    const session = match?.[1] ? auth.authenticate(match[1].trim()) : undefined;
    if (!session) {
      sendApiError(res, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
      return;
    }
    res.locals.session = session;
    const max = ctx.faults.config().dailyApiRequests;
    if (ctx.apiUsage.remaining() <= 0) {
      res.setHeader('Sforce-Limit-Info', `api-usage=${ctx.apiUsage.used()}/${max}`);
      sendApiError(res, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      return;
    }
    ctx.apiUsage.record(/\/jobs(\/|$)/.test(req.path) ? 'bulk' : 'rest');
    res.setHeader('Sforce-Limit-Info', `api-usage=${ctx.apiUsage.used()}/${max}`);
    next();
  };
}
