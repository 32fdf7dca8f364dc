// Who may read /metrics (model version, counts): loopback and listed addresses (a Prometheus on the host or a
// known scraper), or a bearer token from LEADRANK_METRICS_TOKEN (Prometheus `authorization` in scrape config).
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { AccessConfig } from './access-config.js';
import { ApiError } from './errors.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function metricsGuard(config: AccessConfig['metrics'], token: string | undefined) {
  const allowed = new Set(config.allowAddresses.flatMap((a) => [a, `::ffff:${a}`]));
  return (req: Request, res: Response, next: NextFunction): void => {
    // The socket's address, not X-Forwarded-For: a header is the caller's to choose.
    const address = req.socket.remoteAddress ?? '';
    if ((config.allowLoopback && LOOPBACK.test(address)) || allowed.has(address)) return next();
    const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (token && bearer && sameSecret(bearer, token)) return next();
    res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    next(
      new ApiError(
        401,
        'unauthorized',
        token
          ? '/metrics needs Authorization: Bearer <LEADRANK_METRICS_TOKEN> from this address'
          : '/metrics is served to loopback and the addresses of config/api-access.json only',
      ),
    );
  };
}
