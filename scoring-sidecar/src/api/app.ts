// The HTTP app: lean on the hot routes (no etag, no x-powered-by, JSON parsing only where a route takes
// JSON), bearer authentication and the caller's region checked before any /v1 handler runs.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { ScoringConfig } from '../config/index.js';
import type { ModelSource } from '../scoring/index.js';
import type { OnlineFeatureStore, Region } from '../store/index.js';
import type { ApiAccess } from './access.js';
import { AuthError, parseBasicCredentials, type Authenticator } from './auth.js';
import { ApiError, errorHandler, sendError } from './errors.js';
import { erasureHandler, receiptHandler, type RoutePrivacy } from './privacy-routes.js';
import { ScoreHealth } from './health.js';
import type { ApiMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  eventsHandler,
  exposuresHandler,
  extractHandler,
  scoreHandler,
  worklistHandler,
  type RouteDeps,
} from './routes.js';
import { tokenRequestSchema } from './schemas.js';

export interface AppDeps extends RouteDeps {
  auth: Authenticator;
  models: ModelSource;
  /** Rules-only mode explicitly configured: ready without a model. */
  rulesOnly: boolean;
  ruleSetVersion: string;
  logger: Logger;
  store: OnlineFeatureStore;
  region: Region;
  config: ScoringConfig;
  metrics: ApiMetrics;
  /** The per-caller rate limit and the /metrics guard (api/access.ts). */
  access: Pick<ApiAccess, 'rateLimit' | 'metrics'>;
  /** Other pages served beside the API, each behind its own guard (e.g. the RevOps dashboard). */
  mounts?: { path: string; handlers: RequestHandler[] }[];
  /** Erasure (privacy/): absent, the routes answer 404. */
  privacy?: RoutePrivacy;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

/** Express 5 forwards rejected promises to the error handler itself; this only narrows the type. */
const route = (h: Handler) => (req: Request, res: Response, next: NextFunction) =>
  Promise.resolve(h(req, res)).catch(next);

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The caller's X-Request-Id when it is a safe token, else a new one (it goes into logs and the audit). */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const openapi = JSON.stringify(buildOpenApiDocument(deps.config.version));
  const jsonBody = express.json({ limit: deps.config.limits.jsonBodyBytes });
  const formBody = express.urlencoded({ extended: false, limit: '16kb' });

  app.use((req, res, next) => {
    res.locals.requestId = requestIdOf(req.headers['x-request-id']);
    res.setHeader('x-request-id', res.locals.requestId as string);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${(req.route as { path: string }).path}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      deps.metrics.requestDuration.observe(
        { route, method: req.method, status: String(res.statusCode) },
        seconds,
      );
    });
    next();
  });

  const authenticate = (req: Request, res: Response, next: NextFunction) => {
    deps.auth.authenticate(req.headers.authorization).then(
      (caller) => {
        res.locals.caller = caller;
        next();
      },
      (error: unknown) => {
        if (!(error instanceof AuthError)) return next(error);
        res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
        next(new ApiError(401, 'unauthorized', error.message));
      },
    );
  };
  const callerRegion = (_req: Request, res: Response, next: NextFunction) => {
    const caller = res.locals.caller as { region: Region };
    if (caller.region !== deps.region) {
      return next(
        new ApiError(
          403,
          'region_refused',
          `the caller is bound to region ${caller.region}; this is the ${deps.region} deployment`,
        ),
      );
    }
    next();
  };
  const guard = [authenticate, callerRegion, deps.access.rateLimit];

  app.post(
    '/oauth/token',
    formBody,
    jsonBody,
    route(async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      const body = tokenRequestSchema.safeParse(req.body ?? {});
      if (!body.success || body.data.grant_type !== 'client_credentials') {
        res.status(400).json({ error: body.success ? 'unsupported_grant_type' : 'invalid_request' });
        return;
      }
      let clientId = body.data.client_id;
      let clientSecret = body.data.client_secret;
      if (/^Basic(\s|$)/i.test(req.headers.authorization ?? '')) {
        try {
          ({ clientId, clientSecret } = parseBasicCredentials(req.headers.authorization!));
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          res.status(400).json({ error: 'invalid_request', error_description: error.message });
          return;
        }
      }
      if (!clientId || clientSecret === undefined) {
        res
          .status(401)
          .json({ error: 'invalid_client', error_description: 'client_id and client_secret are required' });
        return;
      }
      try {
        const { token, client } = await deps.auth.issueToken(clientId, clientSecret);
        if (client.region !== deps.region) {
          throw new ApiError(
            403,
            'region_refused',
            `the client is bound to region ${client.region}; this is the ${deps.region} deployment`,
          );
        }
        res.json(token);
      } catch (error) {
        if (!(error instanceof AuthError)) throw error;
        res
          .status(401)
          .json({ error: 'invalid_client', error_description: 'unknown client or wrong secret' });
      }
    }),
  );

  const scoreHealth = new ScoreHealth();
  app.post(
    '/v1/score',
    (_req: Request, res: Response, next: NextFunction) => {
      res.on('finish', () => scoreHealth.observe(res.statusCode));
      next();
    },
    guard,
    jsonBody,
    route(scoreHandler(deps)),
  );
  app.get('/v1/worklists/:repId', guard, route(worklistHandler(deps)));
  app.post('/v1/events', guard, jsonBody, route(eventsHandler(deps)));
  app.post('/v1/extracts/:kind', guard, route(extractHandler(deps)));
  app.post('/v1/exposures', guard, jsonBody, route(exposuresHandler(deps)));
  if (deps.privacy) {
    app.post('/v1/privacy/erasures', guard, jsonBody, route(erasureHandler(deps.privacy)));
    app.get('/v1/privacy/erasures/:id', guard, route(receiptHandler(deps.privacy)));
  }
  for (const m of deps.mounts ?? []) app.use(m.path, ...m.handlers);

  app.get('/healthz', (_req, res) => {
    const health = scoreHealth.check(deps.models);
    res.status(health.ok ? 200 : 503).json({ status: health.ok ? 'ok' : 'failing', ...health });
  });
  app.get(
    '/readyz',
    route(async (_req, res) => {
      const status = deps.models.status();
      let model: ReturnType<ModelSource['current']> = null;
      try {
        model = deps.models.current();
      } catch {
        model = null; // a source that throws is not ready; /healthz reports it as failing
      }
      let store: { ok: boolean; latencyMs: number | null; error?: string };
      try {
        store = { ok: true, latencyMs: await withTimeout(deps.store.ping(), 1000) };
      } catch (error) {
        store = { ok: false, latencyMs: null, error: (error as Error).message };
      }
      const modelOk = model !== null || deps.rulesOnly;
      res.status(modelOk && store.ok ? 200 : 503).json({
        ready: modelOk && store.ok,
        checks: {
          model: {
            ok: modelOk,
            mode: model ? 'model' : 'rules-only',
            version: model?.version ?? null,
            loadedAt: status.loadedAt,
            lastError: status.lastError,
          },
          store,
        },
      });
    }),
  );
  app.get(
    '/metrics',
    deps.access.metrics,
    route(async (_req, res) => {
      let model: ReturnType<ModelSource['current']> = null;
      try {
        model = deps.models.current();
      } catch {
        model = null;
      }
      deps.metrics.showVersion(model?.version ?? deps.ruleSetVersion, model ? 'model' : 'rules');
      res.setHeader('Content-Type', deps.metrics.registry.contentType);
      res.send(await deps.metrics.registry.metrics());
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });

  app.use((req, res) => sendError(res, 404, 'not_found', `no route ${req.method} ${req.path}`));
  app.use(errorHandler(deps.logger));
  return app;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
