#!/usr/bin/env node
// `leadrank`: `serve` (the scoring API; here because it starts server.ts, the top of the sidecar), and every
// other command registered from its module in commands/, one line each.
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import { registerAuditCommands } from './commands/audit.js';
import { registerBatchCommands } from './commands/batch.js';
import { registerExperimentCommands } from './commands/experiments.js';
import { registerModelCommands } from './commands/model.js';
import { registerMonitoringCommands } from './commands/monitoring.js';
import { registerSyncCommands } from './commands/sync.js';
import { registerWorkerCommands } from './commands/worker.js';
import { registerRetentionCommands } from './commands/retention.js';
import { registerWritebackCommands } from './commands/writeback.js';
import { registerBacktestCommands } from './commands/backtest.js';
import { registerTrainCommands } from './commands/train.js';
import { registerTrainingSetCommands } from './commands/training-set.js';
import { registerFeaturesCommands } from './commands/features.js';
import { registerImportCommands } from './commands/import.js';
import { registerOpportunityCommands } from './commands/opportunities.js';
import { registerPrivacyCommands } from './commands/privacy.js';
import { REPO_ROOT } from './config/index.js';
import { startServer } from './server.js';

const log = pino({ name: 'leadrank', level: process.env.LOG_LEVEL ?? 'info' });

async function serve(opts: { port?: string; workers: string }): Promise<void> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...(opts.port ? { PORT: opts.port } : {}),
  };
  const workers = opts.workers === 'auto' ? availableParallelism() : Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error('--workers must be a positive integer or "auto"');
  if (workers > 1 && !env.REDIS_URL)
    throw new Error('--workers > 1 needs REDIS_URL: the embedded store is per process');
  if (workers > 1 && cluster.isPrimary) {
    // node:cluster shares the port; each worker has its own model session, micro-batcher and audit chain.
    let stopping = false;
    const exitCodes: (number | null)[] = [];
    // A worker that dies again and again before it serves (a bad configuration, a store it cannot open) is not
    // re-forked in a tight loop: each restart waits longer (1, 2, 4, 8 s …) and after five failed starts in a row
    // (LEADRANK_WORKER_MAX_FAILED_STARTS)
    // the primary stops the others and exits 1, so that the supervisor (systemd, the container runtime) sees it.
    const failedStarts: number[] = [];
    const maxFailedStarts = Number(env.LEADRANK_WORKER_MAX_FAILED_STARTS ?? 5);
    if (!Number.isInteger(maxFailedStarts) || maxFailedStarts < 1)
      throw new Error('LEADRANK_WORKER_MAX_FAILED_STARTS must be a positive integer');
    // V8's young generation: a request allocates a few hundred short-lived objects (the parsed body, the state,
    // reasons, the answer, the audit line), and 64 MB semi-spaces instead of V8's 16 MB scavenge a quarter as
    // often; at 900 req/s the GC share of the workers' profile fell from 5.2 % to 3.9 % (bench/online.ts
    // --cpu-prof, docs/api.md). LEADRANK_WORKER_SEMI_SPACE_MB=0 keeps V8's default.
    const semiSpaceMb = Number(env.LEADRANK_WORKER_SEMI_SPACE_MB ?? 64);
    if (!Number.isInteger(semiSpaceMb) || semiSpaceMb < 0)
      throw new Error('LEADRANK_WORKER_SEMI_SPACE_MB must be a whole number of megabytes (0: V8 default)');
    if (semiSpaceMb > 0)
      cluster.setupPrimary({ execArgv: [...process.execArgv, `--max-semi-space-size=${semiSpaceMb}`] });
    const fork = (index: number) => {
      const worker = cluster.fork({ ...env, LEADRANK_WORKER_INDEX: String(index) });
      let serving = false;
      worker.on('listening', () => {
        serving = true;
        failedStarts[index] = 0;
      });
      worker.on('exit', (code, signal) => {
        exitCodes[index] = code;
        if (stopping) {
          log.info({ index, code, signal }, 'worker stopped');
          if (Object.keys(cluster.workers ?? {}).length === 0)
            process.exit(exitCodes.every((c) => c === 0) ? 0 : 1);
          return;
        }
        log.warn({ index, code, signal }, 'worker exited');
        if (code === 0) return;
        const failures = serving ? 0 : (failedStarts[index] ?? 0) + 1;
        failedStarts[index] = failures;
        if (failures >= maxFailedStarts) {
          log.error({ index, failures }, 'a worker failed to start too many times in a row; stopping');
          shutdown('SIGTERM', 1);
          return;
        }
        // Not unref'd: with every worker gone, this timer is what keeps the primary alive to re-fork.
        setTimeout(() => !stopping && fork(index), failures === 0 ? 0 : 1000 * 2 ** (failures - 1));
      });
    };
    for (let i = 0; i < workers; i++) fork(i);
    // The primary outlives its workers on SIGTERM/SIGINT: a systemd or container stop signals the whole
    // process group, and a primary that exited at once would cut the workers' IPC channel while they drain
    // (server.close then fails with EPIPE). It forwards the signal (a worker ignores repeats), waits for every
    // worker to finish its in-flight requests and exits 0 when all did.
    function shutdown(signal: NodeJS.Signals, exitCode = 0) {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping workers');
      if (exitCode !== 0) exitCodes.push(exitCode);
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
      setTimeout(() => {
        log.error('workers did not stop within 30 s');
        process.exit(1);
      }, 30_000).unref();
    }
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    return;
  }
  const workerIndex = env.LEADRANK_WORKER_INDEX;
  if (workerIndex !== undefined) {
    // The audit log has one writer per directory: each worker keeps its own chain.
    env.LEADRANK_AUDIT_DIR = join(
      env.LEADRANK_AUDIT_DIR ?? join(REPO_ROOT, 'var', 'audit'),
      `worker-${workerIndex}`,
    );
  }
  const { port, stop } = await startServer(env);
  log.info({ port, pid: process.pid }, 'listening');
  let stopping = false;
  // `on`, not `once`: a process-group stop delivers the signal twice to a cluster worker (the kernel's, then
  // the primary's forward), and the second must not kill it mid-drain.
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: Error) => {
        log.error({ err: error.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (cluster.isWorker)
    // An IPC write after the primary is gone (killed harder than SIGTERM) must not crash a draining worker.
    process.on('error', (error) => log.warn({ err: error.message }, 'cluster channel error'));
}

export function buildProgram(): Command {
  const program = new Command('leadrank').description('Leadrank scoring sidecar');
  program
    .command('serve')
    .description(
      'serve the scoring API (env: REGION, REDIS_URL, LEADRANK_MODEL_DIR, LEADRANK_CLIENTS, …; see docs/api.md)',
    )
    .option('--port <port>', 'port (env PORT, default 8080)')
    .option('--workers <n>', 'processes sharing the port (node:cluster; "auto" = one per core)', '1')
    .action(serve);
  registerAuditCommands(program);
  registerModelCommands(program);
  registerBacktestCommands(program);
  registerTrainCommands(program);
  registerTrainingSetCommands(program);
  registerBatchCommands(program);
  registerExperimentCommands(program);
  registerMonitoringCommands(program);
  registerWorkerCommands(program);
  registerRetentionCommands(program);
  registerWritebackCommands(program);
  registerSyncCommands(program);
  registerFeaturesCommands(program);
  registerImportCommands(program);
  registerOpportunityCommands(program);
  registerPrivacyCommands(program);
  return program;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: Error) => {
      log.error({ err: error.message }, 'leadrank failed');
      process.exit(1);
    });
}
