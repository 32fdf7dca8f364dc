#!/usr/bin/env node
// `npm run demo`: on a fresh machine, moves to Node 22 when `node` is older and installs what it needs, then runs
// the demo (scripts/demo.ts). Node built-ins only: this runs before the npm packages are installed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  ensureNodeModules,
  ensurePythonVenv,
  ensureToolchain,
  reexecOnNode22,
  repoRoot,
} from './lib/bootstrap.mjs';
import { startDemoRedis } from './lib/demo-redis.mjs';

reexecOnNode22(repoRoot);

let python;
let redis;
try {
  // Native npm modules build with the toolchain; the venv needs python3-venv; without REDIS_URL, the demo runs
  // a private redis-server.
  ensureToolchain({ redis: !process.env.REDIS_URL });
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
