#!/usr/bin/env node
// `npm run demo`: installs what it needs on a fresh machine, then runs the demo (scripts/demo.ts).
// Node built-ins only: this runs before the npm packages are installed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureNodeModules, ensurePythonVenv, repoRoot } from './lib/bootstrap.mjs';
import { startDemoRedis } from './lib/demo-redis.mjs';

let python;
let redis;
try {
  ensureNodeModules();
  // The demo trains a model: LEADRANK_PYTHON (a Python with training/requirements.txt), else .venv.
  python = process.env.LEADRANK_PYTHON ?? ensurePythonVenv(join(repoRoot, 'training', 'requirements.txt'));
  // The demo's processes share state through Redis: REDIS_URL, else a private redis-server for this run.
  redis = process.env.REDIS_URL ? null : await startDemoRedis();
} catch (err) {
  console.error(`✖ ${err.message}`);
  process.exit(1);
}
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const res = spawnSync(tsx, [join(repoRoot, 'scripts', 'demo.ts'), ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: {
    ...process.env,
    LEADRANK_PYTHON: python,
    ...(redis ? { REDIS_URL: redis.url } : {}),
  },
});
redis?.stop();
process.exit(res.status ?? 1);
