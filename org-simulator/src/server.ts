// Stands in for an org's My Domain host: OAuth, REST and Bulk API 2.0 on one HTTP server.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { adminRouter } from './admin.js';
import { connectedAppsFromEnv, type ConnectedApp } from './auth/connected-apps.js';
import { OAuthService } from './auth/oauth.js';
import { bulkRuntime, createBulkRouter } from './bulk/index.js';
import type { SimulatorContext } from './context.js';
import { FaultInjector, type FaultConfig } from './faults.js';
import { ApiUsage } from './limits.js';
import { outageMiddleware } from './outage.js';
import { compositeRouter } from './rest/composite.js';
import { ApiError, restErrorHandler } from './rest/errors.js';
import { authAndUsageMiddleware, faultMiddleware } from './rest/middleware.js';
import { toolingQueryRouter } from './rest/tooling-query.js';
import { queryRouter } from './rest/query.js';
import { resourcesRouter, versionsRouter } from './rest/resources.js';
import { sobjectsRouter } from './rest/sobjects.js';
import { loadOrgSchema, type OrgSchema } from './schema/index.js';
import { OrgStore, type OrgRegion } from './store/org-store.js';
import { seedFromDirectory } from './store/seed.js';

export const DEFAULT_API_VERSION = '62.0';

/**
 * The HTTP app: OAuth under /services/oauth2, REST and Bulk API 2.0 under /services/data/vXX.X (faults,
 * then session check and API usage), admin under /__admin.
 */
export function createOrgSimulatorApp(ctx: SimulatorContext, auth?: OAuthService): express.Express {
  const oauth = auth ?? new OAuthService(ctx, connectedAppsFromEnv());
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // Path only: query strings can carry SOQL with customer values.
      ctx.logger.debug(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    });
    next();
  });
  app.use('/__admin', adminRouter(ctx));
  app.use(oauth.router());
  app.use(versionsRouter(ctx));

  const api = express.Router({ mergeParams: true });
  api.use((req, _res, next) => {
    const version = String(req.params.version ?? '');
    const v = /^v(\d{2,3}\.0)$/.exec(version)?.[1];
    if (!v || Number(v) > Number(ctx.apiVersion) || Number(v) < 31) {
      next(new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist'));
      return;
    }
    next();
  });
  api.use(faultMiddleware(ctx));
  api.use(outageMiddleware(ctx));
  api.use(authAndUsageMiddleware(ctx, oauth));
  api.use('/jobs', createBulkRouter(ctx));
  const json = express.json({ limit: '50mb', type: ['application/json', 'text/json'] });
  api.use('/sobjects', json, sobjectsRouter(ctx));
  api.use('/composite', json, compositeRouter(ctx));
  api.use(queryRouter(ctx));
  api.use('/tooling', toolingQueryRouter(ctx));
  api.use(resourcesRouter(ctx));
  api.use((_req, _res, next) =>
    next(new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist')),
  );
  app.use('/services/data/:version', api);
  // Outside the API too, Salesforce answers unknown paths with its JSON error, not an HTML page.
  app.use((_req, _res, next) =>
    next(new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist')),
  );
  app.use(restErrorHandler((err) => ctx.logger.error({ err }, 'unhandled error')));
  return app;
}

export interface StartOptions {
  /** 0 = random; default 8787 */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** SQLite file; default ':memory:' */
  dbFile?: string;
  /** Connected Apps; default from ORG_SIM_CLIENTS / ORG_SIM_CLIENTS_FILE, else one generated dev client */
  clients?: ConnectedApp[];
  faults?: Partial<FaultConfig>;
  apiVersion?: string;
  region?: OrgRegion;
  schema?: OrgSchema;
  /** NDJSON(.gz) seed directory loaded before listening */
  seedDir?: string;
  logger?: pino.Logger;
  /** pins time for system fields, date literals, sessions and usage windows (tests) */
  clock?: () => Date;
}

export interface RunningOrgSimulator {
  url: string;
  ctx: SimulatorContext;
  oauth: OAuthService;
  /** present when no client was configured: a generated client-credentials app for local use */
  devClient?: { clientId: string; clientSecret: string };
  seeded?: Record<string, number>;
  close(): Promise<void>;
}

export async function startOrgSimulator(opts: StartOptions = {}): Promise<RunningOrgSimulator> {
  const logger = opts.logger ?? pino({ name: 'org-simulator', level: process.env.LOG_LEVEL ?? 'info' });
  const schema = opts.schema ?? loadOrgSchema();
  const apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
  const clock = opts.clock ?? (() => new Date());
  const store = OrgStore.open({
    file: opts.dbFile ?? ':memory:',
    schema,
    region: opts.region ?? 'MIXED',
    clock,
    apiVersion,
  });
  const faults = new FaultInjector(opts.faults);
  let instanceUrl = '';
  const ctx: SimulatorContext = {
    store,
    schema,
    faults,
    apiUsage: new ApiUsage(faults, () => clock().getTime()),
    logger,
    apiVersion,
    instanceUrl: () => instanceUrl,
  };
  const seeded = opts.seedDir ? await seedFromDirectory(store, opts.seedDir) : undefined;
  let clients = opts.clients ?? connectedAppsFromEnv();
  let devClient: RunningOrgSimulator['devClient'];
  if (clients.length === 0) {
    devClient = {
      clientId: `dev-${randomBytes(6).toString('hex')}`,
      clientSecret: randomBytes(24).toString('base64url'),
    };
    clients = [devClient];
  }
  const oauth = new OAuthService(ctx, clients, () => clock().getTime());
  const app = createOrgSimulatorApp(ctx, oauth);
  const host = opts.host ?? '127.0.0.1';
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(opts.port ?? 8787, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  instanceUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info(
    { event: 'simulator.started', url: instanceUrl, region: store.region, apiVersion },
    'org simulator listening',
  );
  return {
    url: instanceUrl,
    ctx,
    oauth,
    ...(devClient ? { devClient } : {}),
    ...(seeded ? { seeded } : {}),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await bulkRuntime(ctx).whenIdle();
      store.close();
    },
  };
}
