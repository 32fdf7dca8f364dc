// The machine-level things the suites need (Redis, PostgreSQL, Debian's Chromium, promtool, a C++ toolchain for
// native modules, python3-venv): on a fresh Debian machine, as root, installs the missing Debian packages with
// apt-get and starts the services; elsewhere says clearly what is missing. Returns the environment the suites read.
// Node built-ins only: this runs before the npm packages are installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const DEFAULT_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', ...opts });
const onPath = (cmd) => quiet('sh', ['-c', `command -v ${cmd}`]).stdout?.trim() || undefined;
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Sends one inline command and resolves with the first reply chunk, or undefined when nothing answers. */
function ask(host, port, line) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (line ? socket.write(line) : (socket.destroy(), resolve(''))));
    socket.once('data', (d) => (socket.destroy(), resolve(d.toString())));
    socket.once('timeout', () => (socket.destroy(), resolve(undefined)));
    socket.once('error', () => resolve(undefined));
  });
}

async function redisAnswers(url) {
  const { hostname, port } = new URL(url);
  return (await ask(hostname || '127.0.0.1', Number(port || 6379), 'PING\r\n'))?.startsWith('+PONG') ?? false;
}

async function waitFor(check, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000}s`);
}

/** The Debian packages that installing and running the project needs (the demo too), with why. */
function missingToolchain() {
  const missing = [];
  // better-sqlite3 compiles on install when no prebuilt binary can be fetched.
  if (!onPath('make') || !onPath('g++'))
    missing.push(['build-essential', 'a C++ toolchain for native modules']);
  const python = onPath('python3');
  if (!python) missing.push(['python3', 'Python for the training suite']);
  if (!python || quiet(python, ['-c', 'import ensurepip, venv']).status !== 0) {
    missing.push(['python3-venv', 'python3 -m venv for the training suite']);
  }
  return missing;
}

/** The Debian packages the test suites' services need, with why. */
function missingServices(chromium, needsPostgres) {
  const missing = [];
  if (!onPath('redis-server')) missing.push(['redis-server', 'Redis for the Redis-backed suites']);
  if (!existsSync(chromium))
    missing.push(['chromium', `Chromium for the browser tests (not at ${chromium})`]);
  if (needsPostgres && !onPath('pg_ctlcluster'))
    missing.push(['postgresql', 'PostgreSQL for the SQL-backed suites']);
  if (!process.env.PROMTOOL_PATH && !onPath('promtool'))
    missing.push(['prometheus', 'promtool for the alert rules']);
  return missing;
}

/**
 * Installs (as root, with apt-get) a C++ toolchain and python3-venv when missing, and redis-server when asked
 * (the demo runs a private one); says what is missing otherwise.
 */
export function ensureToolchain({ redis = false } = {}) {
  const missing = missingToolchain();
  if (redis && !onPath('redis-server')) missing.push(['redis-server', "Redis for the demo's processes"]);
  if (missing.length) aptInstall(missing);
}

function aptInstall(missing) {
  const names = missing.map(([name]) => name);
  const why = missing.map(([name, reason]) => `${name} (${reason})`).join(', ');
  if (!isRoot() || !onPath('apt-get')) {
    throw new Error(
      `missing on this machine: ${why}. Install them (as root: apt-get install -y ${names.join(' ')}) ` +
        'or point REDIS_URL, DATABASE_URL, CHROMIUM_PATH, PROMTOOL_PATH at existing ones.',
    );
  }
  console.log(`\n▶ installing Debian packages: ${why}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...names],
  ]) {
    const res = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (res.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${res.status})`);
  }
}

async function ensureRedis(url) {
  if (await redisAnswers(url)) return;
  const { hostname, port } = new URL(url);
  if (!LOCAL_HOSTS.has(hostname))
    throw new Error(`Redis is not answering at ${url} (not a local address to start)`);
  console.log(`\n▶ starting Redis on port ${port || 6379} (nothing answered at ${url})`);
  const res = spawnSync(
    'redis-server',
    [
      '--daemonize',
      'yes',
      '--port',
      String(port || 6379),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'inherit' },
  );
  if (res.status !== 0) throw new Error(`redis-server failed to start (exit ${res.status})`);
  await waitFor(() => redisAnswers(url), `Redis at ${url}`);
}

/** psql with the URL's own credentials, over TCP: the way the suites connect. */
function postgresAccepts(url) {
  if (!onPath('psql')) return false;
  return (
    quiet('psql', [url, '-tAc', 'select 1'], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '3' },
    }).stdout?.trim() === '1'
  );
}

/** The highest installed PostgreSQL major with a `main` cluster (Debian's layout: /etc/postgresql/<major>/main). */
function clusterVersion() {
  const out = quiet('pg_lsclusters', ['-h']).stdout ?? '';
  const versions = out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([version, name]) => version && name === 'main')
    .map(([version]) => version);
  return versions.sort((a, b) => Number(b) - Number(a))[0];
}

async function ensurePostgres(url) {
  if (postgresAccepts(url)) return;
  const parsed = new URL(url);
  if (!LOCAL_HOSTS.has(parsed.hostname) || !isRoot() || !onPath('pg_ctlcluster')) {
    throw new Error(
      `PostgreSQL is not accepting ${url.replace(/:[^:@/]*@/, ':***@')}: start it or set DATABASE_URL`,
    );
  }
  const version = clusterVersion();
  if (!version)
    throw new Error('PostgreSQL is installed but has no `main` cluster (pg_createcluster <major> main)');
  const port = Number(parsed.port || 5432);
  if ((await ask(parsed.hostname, port, '')) === undefined) {
    console.log(`\n▶ starting PostgreSQL ${version} (pg_ctlcluster ${version} main start)`);
    const res = spawnSync('pg_ctlcluster', [version, 'main', 'start'], { stdio: 'inherit' });
    if (res.status !== 0) throw new Error(`pg_ctlcluster ${version} main start failed (exit ${res.status})`);
    await waitFor(
      async () => (await ask(parsed.hostname, port, '')) !== undefined,
      `PostgreSQL on port ${port}`,
    );
  }
  if (postgresAccepts(url)) return;
  // A fresh cluster lets the postgres user in only through the local socket (peer auth): give it the URL's
  // password so the suites can connect over TCP.
  const user = decodeURIComponent(parsed.username || 'postgres');
  const password = decodeURIComponent(parsed.password || 'postgres').replaceAll("'", "''");
  console.log(`\n▶ setting the password of PostgreSQL user ${user} (from DATABASE_URL)`);
  const sql = `ALTER USER "${user.replaceAll('"', '""')}" PASSWORD '${password}'`;
  const res = spawnSync('runuser', ['-u', 'postgres', '--', 'psql', '-p', String(port), '-qc', sql], {
    stdio: 'inherit',
  });
  if (res.status !== 0 || !postgresAccepts(url)) {
    throw new Error(`PostgreSQL is running but does not accept ${user} over TCP: check pg_hba.conf`);
  }
}

/**
 * Makes Redis, PostgreSQL, Chromium and promtool available (installing and starting them where it can) and
 * returns the environment that tells the suites where they are.
 */
export async function ensureServices({ postgres = true } = {}) {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const missing = [...missingToolchain(), ...missingServices(chromium, postgres)];
  if (missing.length) aptInstall(missing);
  const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  await ensureRedis(redisUrl);
  const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  if (postgres) await ensurePostgres(databaseUrl);
  const promtool = process.env.PROMTOOL_PATH ?? onPath('promtool');
  if (!promtool) throw new Error('promtool is missing: apt-get install -y prometheus, or set PROMTOOL_PATH');
  return { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, CHROMIUM_PATH: chromium, PROMTOOL_PATH: promtool };
}
