// Setup shared by `npm test` and `npm run demo` on a fresh machine. Node built-ins only: it runs before
// the npm packages are installed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs a command in the repo root with inherited stdio; returns its exit status. */
export function run(label, cmd, args, opts = {}) {
  console.log(`\n▶ ${label}: ${cmd} ${args.join(' ')}`);
  const started = Date.now();
  const res = spawnSync(cmd, args, { cwd: repoRoot, stdio: 'inherit', env: { ...process.env, ...opts.env } });
  if (res.error) throw new Error(`${label}: could not start ${cmd}: ${res.error.message}`);
  console.log(`◀ ${label}: exit ${res.status} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return res.status ?? 1;
}

// Native modules (better-sqlite3) are built for one Node ABI: node_modules records the Node major that installed
// it, and a different major reinstalls. The `prepare` script writes the same stamp after a plain `npm install`.
const nodeStamp = join(repoRoot, 'node_modules', '.leadrank-node-major');
const nodeMajor = process.versions.node.split('.')[0];

/** Records that node_modules was installed by this Node major. */
export function writeNodeStamp() {
  if (existsSync(dirname(nodeStamp))) writeFileSync(nodeStamp, `${nodeMajor}\n`);
}

/** `npm ci` when node_modules is missing, older than the lockfile, or installed by another Node major. */
export function ensureNodeModules() {
  const stamp = join(repoRoot, 'node_modules', '.package-lock.json');
  const lock = join(repoRoot, 'package-lock.json');
  const installedBy = existsSync(nodeStamp) ? readFileSync(nodeStamp, 'utf8').trim() : undefined;
  const fresh = existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs;
  if (fresh && installedBy === nodeMajor) return;
  if (fresh)
    console.log(
      `node_modules was installed by Node ${installedBy ?? '(unknown)'}: reinstalling for Node ${nodeMajor}`,
    );
  if (run('install npm packages', 'npm', ['ci', '--no-audit', '--no-fund']) !== 0) {
    throw new Error('npm ci failed: see the output above (Node.js 22+ and a C++ toolchain are needed)');
  }
  writeNodeStamp();
}

/** A Python venv under .venv with the pinned requirements; reinstalls when the file changes. */
export function ensurePythonVenv(requirements) {
  const venv = join(repoRoot, '.venv');
  const python = join(venv, 'bin', 'python');
  const stampFile = join(venv, '.requirements.sha256');
  const wanted = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted) return python;
  const system = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
  if (!system) throw new Error('Python 3.11+ is required for the training suite: install python3 with venv.');
  if (!existsSync(python) && run('create .venv', system, ['-m', 'venv', venv]) !== 0) {
    throw new Error('python3 -m venv failed: install the python3-venv package');
  }
  if (run('install Python requirements', python, ['-m', 'pip', 'install', '-q', '-r', requirements]) !== 0) {
    throw new Error(`pip install -r ${requirements} failed: see the output above`);
  }
  writeFileSync(stampFile, wanted);
  return python;
}

export { reexecOnNode22 } from './node-runtime.mjs';
export { ensureServices, ensureToolchain } from './services.mjs';
