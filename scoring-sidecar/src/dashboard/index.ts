// dashboard/: the RevOps page served by the sidecar under /dashboard.
export { createDashboardRouter, type DashboardDeps } from './router.js';
export { dashboardAccessFromEnv, type DashboardAccess } from './access.js';
export { seedDemoHistory, seedDemoExperiments, openDemoExperiments } from './demo-data.js';
