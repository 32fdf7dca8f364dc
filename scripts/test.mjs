#!/usr/bin/env node
// `npm test`: sets up what the suites need on a fresh machine (Node 22, Debian packages and services, npm
// packages, the Python venv), then runs every suite: formatting and lint, dependency rules, type-check,
// TypeScript (vitest), LWC (sfdx-lwc-jest) and Python (ruff + pytest).
// Only node built-ins here: this script runs before dependencies are installed.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureNodeModules,
  ensurePythonVenv,
  ensureServices,
  reexecOnNode22,
  repoRoot as root,
  run,
} from './lib/bootstrap.mjs';

reexecOnNode22(root);

const resultsDir = join(root, 'var', 'test-results');
mkdirSync(resultsDir, { recursive: true });

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

async function main() {
  // Services first: the Debian packages include the C++ toolchain that native npm modules build with.
  const services = await ensureServices();
  ensureNodeModules();

  // The Python venv comes first: TypeScript parity tests call the training code.
  const requirements = join(root, 'training', 'requirements.txt');
  const python = existsSync(requirements) ? ensurePythonVenv(requirements) : undefined;
  const env = { ...services, ...(python ? { LEADRANK_PYTHON: python } : {}) };

  const failures = [];
  const check = (label, status) => status === 0 || failures.push(label);

  check('prettier', run('formatting', 'npx', ['prettier', '--check', '.']));
  check('eslint', run('lint', 'npx', ['eslint', '.']));
  // Layering, index-only access across folders, no cycles (.dependency-cruiser.mjs); known violations ignored.
  check('dependency-rules', run('dependency rules', 'npm', ['run', '--silent', 'deps']));
  check('typecheck', run('type-check', 'npx', ['tsc', '-p', 'tsconfig.json']));
  check('typecheck-preview', run('type-check (preview, DOM)', 'npx', ['tsc', '-p', 'preview/tsconfig.json']));
  const vitestJson = join(resultsDir, 'vitest.json');
  check(
    'vitest',
    run(
      'TypeScript tests',
      'npx',
      ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`],
      { env },
    ),
  );
  const jestJson = join(resultsDir, 'lwc-jest.json');
  check(
    'lwc-jest',
    run(
      'LWC tests',
      'npx',
      ['sfdx-lwc-jest', '--', '--passWithNoTests', '--json', `--outputFile=${jestJson}`],
      { env },
    ),
  );

  let pyPassed = 0;
  let pyFailed = 0;
  if (python) {
    check('ruff', run('Python lint', python, ['-m', 'ruff', 'check', 'training']));
    const junit = join(resultsDir, 'pytest.xml');
    const status = run('Python tests', python, ['-m', 'pytest', 'training', '-q', `--junitxml=${junit}`], {
      env,
    });
    check('pytest', status);
    if (existsSync(junit)) {
      const xml = readFileSync(junit, 'utf8');
      const attr = (name) => Number(xml.match(new RegExp(`<testsuite[^>]* ${name}="(\\d+)"`))?.[1] ?? 0);
      pyFailed = attr('failures') + attr('errors');
      pyPassed = attr('tests') - pyFailed - attr('skipped');
    }
  }

  const vitest = readJson(vitestJson);
  const jest = readJson(jestJson);
  const passed = (vitest?.numPassedTests ?? 0) + (jest?.numPassedTests ?? 0) + pyPassed;
  const failed = (vitest?.numFailedTests ?? 0) + (jest?.numFailedTests ?? 0) + pyFailed;
  console.log(`\nsuites failed: ${failures.length ? failures.join(', ') : 'none'}`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((err) => {
  console.error(`\n✖ ${err.message}`);
  process.exit(1);
});
