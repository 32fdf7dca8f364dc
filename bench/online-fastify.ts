// POST /v1/score on fastify 5, for a framework comparison on a quiet machine (bench/online.ts no longer runs it).
// Not a product entry point: express stays the sidecar's framework. Same sidecar (createSidecar: store,
// model, micro-batching, TreeSHAP, audit), same bearer-token check, region guard, request id, latency
// histogram and handler core (`scoreRequest`); only the HTTP layer differs. Env as `leadrank serve`, plus
// BENCH_WORKERS (node:cluster processes).
import cluster from 'node:cluster';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { requestIdOf } from '../scoring-sidecar/src/api/app.js';
import { AuthError } from '../scoring-sidecar/src/api/auth.js';
import { ApiError } from '../scoring-sidecar/src/api/errors.js';
import { scoreRequest } from '../scoring-sidecar/src/api/routes.js';
import { createSidecar } from '../scoring-sidecar/src/server.js';

const workers = Number(process.env.BENCH_WORKERS ?? 1);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork({ ...process.env, LEADRANK_WORKER_INDEX: String(i) });
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const env = { ...process.env };
  // As `leadrank serve --workers`: the audit log has one writer per directory, so each worker keeps its own chain.
  if (env.LEADRANK_WORKER_INDEX !== undefined && env.LEADRANK_AUDIT_DIR)
    env.LEADRANK_AUDIT_DIR = join(env.LEADRANK_AUDIT_DIR, `worker-${env.LEADRANK_WORKER_INDEX}`);
  const sidecar = await createSidecar(env);
  const deps = sidecar.appDeps;
  const app = Fastify({ logger: false, bodyLimit: deps.config.limits.jsonBodyBytes });
  const fail = (status: number, code: string, message: string) => ({
    status,
    body: { error: { code, message } },
  });

  app.post('/v1/score', async (request, reply) => {
    const started = performance.now();
    const requestId = requestIdOf(request.headers['x-request-id']);
    reply.header('x-request-id', requestId);
    try {
      const caller = await deps.auth.authenticate(request.headers.authorization);
      if (caller.region !== deps.region) {
        const f = fail(403, 'region_refused', `the caller is bound to region ${caller.region}`);
        return reply.code(f.status).send(f.body);
      }
      const answer = await scoreRequest(deps, request.body, caller, requestId, started);
      deps.metrics.requestDuration.observe(
        { route: '/v1/score', method: 'POST', status: '200' },
        (performance.now() - started) / 1000,
      );
      return answer;
    } catch (error) {
      if (error instanceof AuthError)
        return reply.code(401).send(fail(401, 'unauthorized', error.message).body);
      if (error instanceof ApiError)
        return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
      throw error;
    }
  });
  app.post('/oauth/token', async (request, reply) => {
    const body = (request.body ?? {}) as { client_id?: string; client_secret?: string };
    try {
      return (await deps.auth.issueToken(String(body.client_id), String(body.client_secret))).token;
    } catch {
      return reply.code(401).send({ error: 'invalid_client' });
    }
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    reply.code(deps.models.current() ? 200 : 503).send({ ready: deps.models.current() !== null }),
  );
  await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1' });
  const shutdown = async () => {
    await app.close();
    await sidecar.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}
