#!/usr/bin/env node
// `npm run demo`: installs what it needs on a fresh machine, then runs the demo (scripts/demo.ts).
// Node built-ins only: this runs before the npm packages are installed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureNodeModules, ensurePythonVenv, repoRoot } from './lib/bootstrap.mjs';

let python;
try {
  ensureNodeModules();
  python = ensurePythonVenv(join(repoRoot, 'training', 'requirements.txt')); // the demo trains a model
} catch (err) {
  console.error(`✖ ${err.message}`);
  process.exit(1);
}
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const res = spawnSync(tsx, [join(repoRoot, 'scripts', 'demo.ts'), ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...process.env, LEADRANK_PYTHON: process.env.LEADRANK_PYTHON ?? python },
});
process.exit(res.status ?? 1);
