// The model registry holds no lead id (#17.1 "the model registry's lineage records"): a model trained on a
// training set of known leads and registered with `python -m leadrank_training.registry register` leaves a
// registry directory (versions/<version>/ artifacts and manifest) and a model directory in which no file, read as
// bytes, contains any training lead's id (18 or 15 characters). So erasure has nothing to remove there; the
// training set itself is an erasure target (docs/audit.md "Erasure"). If a later change puts lineage rows or a
// training-set copy into the registry, this test fails and the registry must become an erasure target.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { leadIdOf, leadrankPython, trainSyntheticModel } from './api-test-kit.js';

const REPO = join(import.meta.dirname, '..', '..');
const ROWS = 1500;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('model registry lineage', () => {
  it('keeps no training lead id in any registered artifact or manifest', async () => {
    const work = mkdtempSync(join(tmpdir(), 'leadrank-registry-scan-'));
    const modelDir = await trainSyntheticModel(join(work, 'train'), ROWS);
    const registry = join(work, 'registry');
    execFileSync(
      leadrankPython(),
      ['-m', 'leadrank_training.registry', '--registry', registry, 'register', modelDir],
      { cwd: REPO, env: { ...process.env, PYTHONPATH: join(REPO, 'training') }, stdio: 'pipe' },
    );
    const files = [...filesUnder(registry), ...filesUnder(modelDir)];
    // Not vacuous: the registry holds a manifest and the model, and the training set does name the leads.
    expect(files.some((f) => f.endsWith('manifest.json'))).toBe(true);
    expect(files.some((f) => f.endsWith('.onnx'))).toBe(true);
    const trainingText = filesUnder(join(work, 'train', 'data'))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('\n');
    expect(trainingText.includes(leadIdOf(0)) || trainingText.includes(leadIdOf(ROWS - 1))).toBe(true);

    const ids = Array.from({ length: ROWS }, (_, i) => leadIdOf(i));
    const found: string[] = [];
    for (const file of files) {
      const text = readFileSync(file).toString('latin1');
      for (const id of ids) if (text.includes(id.slice(0, 15))) found.push(`${file}: ${id}`);
    }
    expect(found).toEqual([]);
  }, 240_000);
});
