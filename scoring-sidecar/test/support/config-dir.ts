// A copy of the shipped config/ with a looser request deadline, for suites that compare the model's answers (the
// two doors of the pipeline, the preview's card against its worklist) on a loaded machine: under the shipped
// 150 ms deadline, a slow request there falls back to the rules, which is right in production and noise in a
// comparison of model answers. Everything else is the shipped configuration.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/config/index.js';

export function configDirWithDeadline(work: string, deadlineMs = 5_000): string {
  const configDir = join(work, 'config');
  cpSync(join(REPO_ROOT, 'config'), configDir, { recursive: true });
  const file = join(configDir, 'scoring.json');
  const scoring = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    file,
    JSON.stringify({ ...scoring, deadlineMs, storeTimeoutMs: Math.floor(deadlineMs / 2) }, null, 2),
  );
  return configDir;
}
