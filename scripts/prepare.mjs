#!/usr/bin/env node
// npm's `prepare` (runs after every `npm install` / `npm ci` in the repo root): records which Node major built
// node_modules (the bootstrap reinstalls when another one runs the suites), then installs the git hooks
// (.husky/pre-commit: lint-staged) on a developer's clone. Nothing else on CI (CI=true), outside a git checkout
// (an unpacked tarball), or with HUSKY=0.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, writeNodeStamp } from './lib/bootstrap.mjs';

writeNodeStamp();

const ci = process.env.CI === 'true' || process.env.CI === '1';
if (!ci && existsSync(join(repoRoot, '.git')) && existsSync(join(repoRoot, 'node_modules', 'husky'))) {
  process.chdir(repoRoot);
  const { default: husky } = await import('husky');
  const message = husky();
  if (message) console.log(`husky: ${message}`);
}
