// The dependency rules of .dependency-cruiser.mjs catch what they are meant to: a small tree laid out like
// scoring-sidecar/src is cruised with the real config and the real depcruise, once clean and once with each kind of
// violation (a backwards import, a reach past a folder's index, a cycle, product code importing the simulator).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '..', '..');
const depcruise = join(repoRoot, 'node_modules', '.bin', 'depcruise');
const config = join(repoRoot, '.dependency-cruiser.mjs');

let work: string | undefined;
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
});

/** Writes the files under a fresh folder and returns the violated rules as "rule: from → to". */
function violations(files: Record<string, string>): string[] {
  work = mkdtempSync(join(tmpdir(), 'dependency-rules-'));
  const all: Record<string, string> = {
    'tsconfig.json': JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' },
    }),
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  const res = spawnSync(
    depcruise,
    ['scoring-sidecar/src', 'org-simulator/src', '--config', config, '--output-type', 'json'],
    { cwd: work, encoding: 'utf8' },
  );
  if (res.error) throw res.error;
  const out = JSON.parse(res.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

const layered = {
  'scoring-sidecar/src/config/index.ts': 'export const limit = 1;\n',
  'scoring-sidecar/src/store/index.ts': "export { put } from './put.js';\n",
  'scoring-sidecar/src/store/put.ts':
    "import { limit } from '../config/index.js';\nexport const put = limit;\n",
  'scoring-sidecar/src/api/index.ts': "export { route } from './routes.js';\n",
  'scoring-sidecar/src/api/routes.ts':
    "import { put } from '../store/index.js';\nexport const route = put;\n",
  'scoring-sidecar/src/server.ts': "import { route } from './api/index.js';\nexport const app = route;\n",
  'org-simulator/src/server.ts': 'export const org = 1;\n',
};

describe('dependency rules (.dependency-cruiser.mjs)', () => {
  it('accept a tree where each stage imports lower stages through their index', () => {
    expect(violations(layered)).toEqual([]);
  });

  it('reject a backwards import: the store importing the API', () => {
    const found = violations({
      ...layered,
      'scoring-sidecar/src/store/put.ts':
        "import { route } from '../api/index.js';\nexport const put = route;\n",
    });
    expect(found).toContain(
      'stage-store: scoring-sidecar/src/store/put.ts → scoring-sidecar/src/api/index.ts',
    );
    // …which here also closes a cycle (api → store → api).
    expect(found.some((v) => v.startsWith('no-circular:'))).toBe(true);
  });

  it("reject reaching past another folder's index, and server.ts doing the same", () => {
    const found = violations({
      ...layered,
      'scoring-sidecar/src/api/routes.ts':
        "import { put } from '../store/put.js';\nexport const route = put;\n",
      'scoring-sidecar/src/server.ts':
        "import { route } from './api/routes.js';\nexport const app = route;\n",
    });
    expect(found).toEqual([
      'entry-through-index: scoring-sidecar/src/server.ts → scoring-sidecar/src/api/routes.ts',
      'through-index: scoring-sidecar/src/api/routes.ts → scoring-sidecar/src/store/put.ts',
    ]);
  });

  it('reject product code importing the org simulator', () => {
    const found = violations({
      ...layered,
      'scoring-sidecar/src/store/put.ts':
        "import { org } from '../../../org-simulator/src/server.js';\nexport const put = org;\n",
    });
    expect(found).toEqual([
      'no-simulator-or-generator-in-product: scoring-sidecar/src/store/put.ts → org-simulator/src/server.ts',
    ]);
  });
});
