// `npx tsx scoring-sidecar/src/dashboard/demo.ts [--port 8090]`: the dashboard alone on demo data.
import express from 'express';
import { MonitoringHistory } from '../monitoring/index.js';
import { openDemoExperiments, seedDemoHistory } from './demo-data.js';
import { createDashboardRouter } from './router.js';

export async function createDemoDashboardApp(now = new Date()): Promise<express.Express> {
  const history = await MonitoringHistory.open(':memory:');
  await seedDemoHistory(history, now);
  const app = express();
  app.use(
    '/dashboard',
    createDashboardRouter({ history, experiments: await openDemoExperiments(now), now: () => now }),
  );
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.argv[process.argv.indexOf('--port') + 1]) || 8090;
  (await createDemoDashboardApp()).listen(port, '127.0.0.1', () =>
    console.log(`http://127.0.0.1:${port}/dashboard/`),
  );
}
