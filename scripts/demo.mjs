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

reexecOnNode22(repoRoot);

let python;
try {
  ensureToolchain(); // native npm modules build with it; the venv needs python3-venv
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
