// The RevOps dashboard: one page (static/) drawing Chart.js charts (served from node_modules: the machines are
// offline) from JSON endpoints under /api. The endpoints read the same monitoring history and experiment
// reports as the CLI and the alerts. Mounted at /dashboard by server.ts behind dashboard/access.ts (HTTP Basic
// for RevOps and the ML team); it holds aggregates only: no lead, no PII.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Router } from 'express';
import type { ExperimentService } from '../experiments/index.js';
import type { MonitoringHistory } from '../monitoring/index.js';

export interface DashboardDeps {
  history: MonitoringHistory;
  experiments: ExperimentService;
  now?: () => Date;
  /** Called before the data endpoints read (e.g. flush the scores counted in memory). */
  beforeRead?: () => unknown;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');
const DAY_MS = 86_400_000;

function sinceDay(req: Request, now: Date): string {
  const days = Math.min(365, Math.max(1, Number(req.query.days) || 30));
  return new Date(now.getTime() - days * DAY_MS).toISOString().slice(0, 10);
}

export function createDashboardRouter(deps: DashboardDeps): Router {
  const now = deps.now ?? (() => new Date());
  const router = express.Router();

  router.get('/assets/chart.umd.min.js', (_req, res) => {
    res.sendFile(CHART_JS);
  });
  router.use('/assets', express.static(STATIC_DIR, { index: false }));
  router.get('/', (req, res) => {
    // The page's links are relative: /dashboard must become /dashboard/ for them to resolve under it.
    const [path, query] = req.originalUrl.split('?');
    if (!path!.endsWith('/')) return res.redirect(301, `${path}/${query ? `?${query}` : ''}`);
    res.sendFile(join(STATIC_DIR, 'index.html'));
  });

  // Express 5 passes a rejected handler promise to the error handler.
  router.use('/api', async (_req, _res, next) => {
    try {
      await deps.beforeRead?.();
    } catch {
      // Counts not yet written are kept for the next flush: the charts show what is stored.
    }
    next();
  });

  router.get('/api/score-bands', async (req, res) => {
    const rows = await deps.history.scoreBands(sinceDay(req, now()));
    const days = [...new Set(rows.map((r) => r.day))];
    const bands = [...new Set(rows.map((r) => r.band))].sort();
    const counts = Object.fromEntries(
      bands.map((b) => [
        b,
        days.map((d) => rows.filter((r) => r.day === d && r.band === b).reduce((s, r) => s + r.count, 0)),
      ]),
    );
    res.json({ days, bands, counts });
  });

  router.get('/api/calibration', async (req, res) => {
    res.json({ bins: await deps.history.calibration(sinceDay(req, now())) });
  });

  router.get('/api/drift', async (req, res) => {
    const rows = await deps.history.drift(sinceDay(req, now()));
    const regions = [...new Set(rows.map((r) => r.region))].sort();
    const latest = regions.map((region) => {
      const day = rows.filter((r) => r.region === region).reduce((d, r) => (r.day > d ? r.day : d), '');
      const features = rows
        .filter((r) => r.region === region && r.day === day)
        .sort((a, b) => b.psi - a.psi)
        .map(({ feature, psi, missingRate, baselineMissingRate, status, reason }) => ({
          feature,
          psi,
          missingRate,
          baselineMissingRate,
          status,
          reason,
        }));
      return { region, day, features };
    });
    res.json({ latest });
  });

  router.get('/api/fallback', async (req, res) => {
    const rows = await deps.history.scoreSources(sinceDay(req, now()));
    const days = [...new Set(rows.map((r) => r.day))];
    const share = days.map((d) => {
      const ofDay = rows.filter((r) => r.day === d);
      const total = ofDay.reduce((s, r) => s + r.count, 0);
      const rules = ofDay.filter((r) => r.source === 'rules').reduce((s, r) => s + r.count, 0);
      return total > 0 ? rules / total : 0;
    });
    res.json({ days, share });
  });

  router.get('/api/batch-cycles', async (req, res) => {
    res.json({ cycles: await deps.history.batchCycles(sinceDay(req, now())) });
  });

  router.get('/api/experiments', async (_req, res) => {
    const states = await deps.experiments.store.list();
    const experiments = [];
    for (const s of states) {
      const r = await deps.experiments.report(s.id);
      const c = r.metrics.conversion;
      experiments.push({
        id: s.id,
        description: s.definition.description,
        mode: s.mode,
        share: s.share,
        decision: r.decision,
        reasons: r.reasons,
        units: r.units,
        conversion: c
          ? { control: c.control.mean, treatment: c.treatment.mean, diff: c.diff, ci: c.ci, pValue: c.pValue }
          : null,
        srmMismatch: r.srm?.mismatch ?? null,
        guardrails: r.guardrails.map((g) => ({
          name: g.name,
          status: g.breached ? 'breached' : g.insufficientData ? 'waiting' : 'ok',
          detail: g.detail,
        })),
        lastEvent: (await deps.experiments.store.events(s.id)).at(-1) ?? null,
      });
    }
    res.json({ experiments });
  });

  return router;
}
