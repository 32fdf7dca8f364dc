// api/: the HTTP API (express): auth, the score, worklist, events and extracts routes, metrics (docs/api.md).
export { createApp, type AppDeps } from './app.js';
export { apiAccessFromEnv } from './access.js';
export { createAuthenticatorFromEnv } from './auth.js';
export { ApiMetrics } from './metrics.js';
export type { RouteExperiments } from './routes.js';
