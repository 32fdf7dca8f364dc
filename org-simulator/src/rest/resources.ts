// Stands in for GET /services/data (versions), the version root and the limits resource.
import express, { type Router } from 'express';
import { bulkRuntime } from '../bulk/index.js';
import type { SimulatorContext } from '../context.js';
import { apiVersionOf } from './sobjects.js';

const OLDEST_VERSION = 31;

/** `GET /services/data`: the versions this "org" serves, oldest first (no session needed). */
export function versionsRouter(ctx: SimulatorContext): Router {
  const router = express.Router();
  router.get('/services/data', (_req, res) => {
    const newest = Math.floor(Number(ctx.apiVersion));
    const versions = [];
    for (let v = OLDEST_VERSION; v <= newest; v++) {
      versions.push({ label: `v${v}.0`, url: `/services/data/v${v}.0`, version: `${v}.0` });
    }
    res.json(versions);
  });
  return router;
}

/** Version root and `limits`. */
export function resourcesRouter(ctx: SimulatorContext): Router {
  const router = express.Router({ mergeParams: true });
  router.get('/', (req, res) => {
    const base = `/services/data/v${apiVersionOf(req)}`;
    res.json({
      sobjects: `${base}/sobjects`,
      query: `${base}/query`,
      queryAll: `${base}/queryAll`,
      composite: `${base}/composite`,
      limits: `${base}/limits`,
      jobs: `${base}/jobs`,
    });
  });
  router.get('/limits', (_req, res) => {
    res.json({ ...ctx.apiUsage.snapshot(), ...bulkRuntime(ctx).usage.snapshot() });
  });
  return router;
}
