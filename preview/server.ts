// The local preview: the package's components (built by build.ts) on one page, SLDS from the design system
// package, and an allow-listed proxy to the sidecar and the org that adds their credentials server-side.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import { pino, type Logger } from 'pino';
import { BUNDLE_FILE, buildPreview, DEFAULT_OUT_DIR, REPO_ROOT } from './build.js';
import { orgUpstream, sidecarUpstream, type ClientCredentials, type Upstream } from './upstream.js';

export interface PreviewOptions {
  /** The scoring sidecar's base URL, e.g. http://127.0.0.1:8080. */
  sidecarUrl: string;
  /** A sidecar OAuth client (LEADRANK_CLIENTS) of the sidecar's region. */
  sidecarClient: ClientCredentials;
  /** The org's login URL (the org simulator's URL, or a My Domain URL). */
  orgUrl: string;
  /** A Connected App with the client credentials flow. */
  orgClient: ClientCredentials;
  apiVersion?: string;
  /** Where the bundle is (default var/preview); built there when missing or when `rebuild` is set. */
  outDir?: string;
  rebuild?: boolean;
  /** Lifetime of the page's demo token (default 1 hour). */
  tokenTtlSeconds?: number;
  logger?: Logger;
}

const TOKEN_AUDIENCE = 'leadrank-preview';
const SLDS_ASSETS = join(REPO_ROOT, 'node_modules', '@salesforce-ux', 'design-system', 'assets');
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

function page(config: Record<string, unknown>): string {
  // JSON inside <script>: escape "<" so no value can close the element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Leadrank — local preview</title>
    <link rel="stylesheet" href="slds/styles/salesforce-lightning-design-system.min.css" />
    <style>body { background: #f3f3f3; padding: 0.75rem; }</style>
    <script type="application/json" id="leadrank-preview-config">${json}</script>
  </head>
  <body>
    <div id="preview-root"></div>
    <script type="module" src="assets/${BUNDLE_FILE}"></script>
  </body>
</html>
`;
}

/**
 * An express Router to mount at `/preview` (the page is `/preview/`): builds the bundle first when needed.
 * Proxy routes (each needs the page's demo token): `GET api/sidecar/v1/worklists/:repId`,
 * `POST api/sidecar/v1/score`, `POST api/sidecar/v1/exposures`, `GET api/org/query?q=`, `GET api/org/sobjects/:object/:id`,
 * `POST api/org/sobjects/Task`.
 */
export async function createPreviewRouter(options: PreviewOptions): Promise<Router> {
  const logger = options.logger ?? pino({ name: 'leadrank-preview', level: process.env.LOG_LEVEL ?? 'info' });
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  if (options.rebuild || !existsSync(join(outDir, BUNDLE_FILE))) {
    const built = await buildPreview({ outDir });
    logger.info({ outDir, ms: built.milliseconds, components: built.components }, 'preview built');
  }
  const sidecar = sidecarUpstream(options.sidecarUrl, options.sidecarClient);
  const org = orgUpstream(options.orgUrl, options.orgClient, options.apiVersion);
  const signingKey = randomBytes(32); // per process: a restart invalidates every page's token
  const ttl = options.tokenTtlSeconds ?? 3600;

  const router = express.Router();
  router.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  router.get('/', async (req, res) => {
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) {
      // Relative asset URLs need the trailing slash.
      res.redirect(301, `${req.baseUrl}/${req.originalUrl.slice(req.baseUrl.length)}`);
      return;
    }
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(signingKey);
    const rep = typeof req.query.rep === 'string' && SALESFORCE_ID.test(req.query.rep) ? req.query.rep : null;
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(page({ sidecarBase: 'api/sidecar', orgBase: 'api/org', token, initialRepId: rep }));
  });
  router.use('/assets', express.static(outDir, { fallthrough: false }));
  router.use('/slds', express.static(SLDS_ASSETS, { fallthrough: false }));

  const api = express.Router();
  api.use(async (req, res, next) => {
    const token = req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    try {
      if (!token) throw new Error('no token');
      await jwtVerify(token, signingKey, { audience: TOKEN_AUDIENCE });
      next();
    } catch {
      res.status(401).json({ error: { code: 'unauthorized', message: 'reload the preview page' } });
    }
  });
  api.use(express.json({ limit: '64kb' }));

  const relay =
    (upstream: Upstream, name: string, pathOf: (req: Request) => string) =>
    async (req: Request, res: Response, next: NextFunction) => {
      const method = req.method === 'POST' ? 'POST' : 'GET';
      try {
        const answer = await upstream.send(method, pathOf(req), method === 'POST' ? req.body : undefined);
        if (answer.status >= 400)
          logger.warn({ upstream: name, route: req.route?.path, status: answer.status }, 'upstream error');
        res.status(answer.status).type(answer.contentType).send(answer.body);
      } catch (error) {
        next(error);
      }
    };
  const id = (req: Request, name: string) => encodeURIComponent(String(req.params[name]));

  api.get(
    '/sidecar/v1/worklists/:repId',
    relay(sidecar, 'sidecar', (req) => `/v1/worklists/${id(req, 'repId')}`),
  );
  api.post(
    '/sidecar/v1/score',
    relay(sidecar, 'sidecar', () => '/v1/score'),
  );
  api.post(
    '/sidecar/v1/exposures',
    relay(sidecar, 'sidecar', () => '/v1/exposures'),
  );
  api.get(
    '/org/query',
    relay(org, 'org', (req) => `/query?q=${encodeURIComponent(String(req.query.q ?? ''))}`),
  );
  api.get(
    '/org/sobjects/:object/:id',
    relay(org, 'org', (req) => {
      const fields =
        typeof req.query.fields === 'string' ? `?fields=${encodeURIComponent(req.query.fields)}` : '';
      return `/sobjects/${id(req, 'object')}/${id(req, 'id')}${fields}`;
    }),
  );
  api.post(
    '/org/sobjects/Task',
    relay(org, 'org', () => '/sobjects/Task'),
  );
  api.use((req, res) => {
    res.status(404).json({
      error: { code: 'not_found', message: `the preview does not relay ${req.method} ${req.path}` },
    });
  });
  api.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    logger.error(
      { route: req.route?.path, err: { name: error.name, message: error.message } },
      'relay failed',
    );
    res
      .status(502)
      .json({ error: { code: 'upstream_unreachable', message: 'the sidecar or the org did not answer' } });
  });
  router.use('/api', api);
  return router;
}

export interface PreviewServer {
  /** The page: `<origin>/preview/`. */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Serves the preview Router at `/preview` on `host:port` (port 0 picks a free one). */
export async function startPreviewServer(
  options: PreviewOptions & { port?: number; host?: string },
): Promise<PreviewServer> {
  const app = express();
  app.disable('x-powered-by');
  app.use('/preview', await createPreviewRouter(options));
  app.get('/', (_req, res) => res.redirect('/preview/'));
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 0, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${host}:${port}/preview/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
