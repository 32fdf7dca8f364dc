// Stands in for Setup → System Overview (an admin's view of the org): health, fault knobs and API usage.
import express, { type Router } from 'express';
import { z } from 'zod';
import { bulkRuntime } from './bulk/index.js';
import type { SimulatorContext } from './context.js';
import { leadLifecycleRouter } from './lead-lifecycle.js';
import { currentOutage, endOutage, outageSchema, startOutage } from './outage.js';

const faultPatch = z
  .object({
    latencyMs: z.number().int().min(0),
    errorRate5xx: z.number().min(0).max(1),
    lockErrorRate: z.number().min(0).max(1),
    dailyApiRequests: z.number().int().min(0),
    seed: z.number().int(),
  })
  .partial()
  .strict();

/** Admin routes outside /services: not authenticated by OAuth, not counted, no injected faults. Bind to localhost. */
export function adminRouter(ctx: SimulatorContext): Router {
  const router = express.Router();
  router.use(express.json());
  router.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      apiVersion: ctx.apiVersion,
      region: ctx.store.region,
      instanceUrl: ctx.instanceUrl(),
    });
  });
  router.get('/faults', (_req, res) => {
    res.json(ctx.faults.config());
  });
  router.put('/faults', (req, res) => {
    const parsed = faultPatch.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid fault config', details: parsed.error.issues });
      return;
    }
    const config = ctx.faults.set(parsed.data);
    ctx.logger.info({ event: 'admin.faults', config }, 'fault config changed');
    res.json(config);
  });
  router.use('/leads', leadLifecycleRouter(ctx));
  router.get('/outage', (_req, res) => {
    res.json(currentOutage(ctx));
  });
  router.put('/outage', (req, res) => {
    const parsed = outageSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid outage', details: parsed.error.issues });
      return;
    }
    ctx.logger.info({ event: 'admin.outage', outage: parsed.data }, 'outage started');
    res.json(startOutage(ctx, parsed.data));
  });
  router.delete('/outage', (_req, res) => {
    endOutage(ctx);
    res.json(null);
  });
  router.get('/usage', (_req, res) => {
    res.json({ used: ctx.apiUsage.used(), remaining: ctx.apiUsage.remaining() });
  });
  router.post('/usage/reset', (_req, res) => {
    ctx.apiUsage.reset();
    bulkRuntime(ctx).usage.reset();
    res.json({ used: 0, remaining: ctx.apiUsage.remaining() });
  });
  return router;
}
