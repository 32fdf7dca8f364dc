// The training code is Python; the sidecar's CLI and tests call it as `python -m leadrank_training.<module>`.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** `$LEADRANK_PYTHON` (npm test sets it to the repo's venv), else `<repo>/.venv/bin/python`. */
export function leadrankPython(): string {
  const python = process.env.LEADRANK_PYTHON ?? join(repoRoot, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(
      `no Python for the training code at ${python}: set LEADRANK_PYTHON or create the venv ` +
        '(python3 -m venv .venv && .venv/bin/pip install -r training/requirements.txt; npm test does this)',
    );
  }
  return python;
}

const pythonEnv = (extra: NodeJS.ProcessEnv = {}) => ({
  ...process.env,
  PYTHONPATH: join(repoRoot, 'training'),
  ...extra,
});

/** Runs `python -m <module> ...args` from the repository, output passed through; resolves to its exit code. */
export function runPythonModule(module: string, args: readonly string[]): Promise<number> {
  const child = spawn(leadrankPython(), ['-m', module, ...args], {
    cwd: repoRoot,
    env: pythonEnv(),
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Runs `python -m <module> ...args` and resolves to its standard output; rejects on a non-zero exit. */
export async function pythonModuleOutput(
  module: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const { stdout } = await promisify(execFile)(leadrankPython(), ['-m', module, ...args], {
    cwd: repoRoot,
    env: pythonEnv(env),
    maxBuffer: 64 * 2 ** 20,
  });
  return stdout;
}

/** The command that trains a model: `python -m leadrank_training.train` with the lead-conversion parameters. */
export function trainingCommand(
  trainingDir: string,
  modelDir: string,
  paramsFile = join(repoRoot, 'config', 'training', 'lead-conversion.json'),
): { command: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string } {
  return {
    command: leadrankPython(),
    args: ['-m', 'leadrank_training.train', '--data', trainingDir, '--out', modelDir, '--params', paramsFile],
    env: pythonEnv(),
    cwd: repoRoot,
  };
}
