// `leadrank model backtest` runs the Python backtest on a real training set and passes its output through.
import { execFileSync } from 'node:child_process';
import { Command } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtestArgs, registerBacktestCommands } from '../src/commands/backtest.js';
import { leadrankPython, runPythonModule } from '../src/model/python.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('leadrank model backtest', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'backtest-cmd-'));
    const script =
      'from pathlib import Path; import sys; from leadrank_training.synthetic import write_synthetic_training_set as w; ' +
      'w(Path(sys.argv[1]), 5000, seed=4, effect_drift=2.0)';
    execFileSync(leadrankPython(), ['-c', script, join(work, 'set')], {
      cwd: repoRoot,
      env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') },
    });
  }, 60_000);
  afterAll(async () => rm(work, { recursive: true, force: true }));

  // Through the command's own argument mapping and Python runner (what the commander action calls).
  it('runs the Python backtest and writes per-step and pooled figures for every scorer', async () => {
    const code = await runPythonModule(
      'leadrank_training.backtest',
      backtestArgs({
        data: join(work, 'set'),
        windowDays: '150',
        stepDays: '100',
        out: join(work, 'bt.json'),
      }),
    );
    expect(code).toBe(0);
    const report = JSON.parse(await readFile(join(work, 'bt.json'), 'utf8')) as {
      steps: unknown[];
      pooled: Record<string, { roc_auc: number; area_under_gains: number }>;
    };
    expect(report.steps.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(report.pooled).sort()).toEqual([
      'lightgbm',
      'logistic',
      'rolling',
      'rules',
      'single_fit',
    ]);
    expect(report.pooled.rolling!.area_under_gains).toBeGreaterThan(0.5);
  }, 300_000);

  it('exits 2 with a message when no step fits the data', async () => {
    const code = await runPythonModule(
      'leadrank_training.backtest',
      backtestArgs({ data: join(work, 'set'), windowDays: '400', stepDays: '30' }),
    );
    expect(code).toBe(2);
  }, 60_000);

  it('registers `model backtest` with the window and step options', () => {
    const program = registerBacktestCommands(new Command('leadrank'));
    const backtest = program.commands
      .find((c) => c.name() === 'model')
      ?.commands.find((c) => c.name() === 'backtest');
    expect(backtest?.options.map((o) => o.long)).toEqual(
      expect.arrayContaining(['--data', '--window-days', '--step-days', '--out']),
    );
  });
});
