// Starts `leadrank worker` as a real child process (the CLI, `node --import tsx`) and waits for its /metrics:
// for tests and the soak, which run Leadrank only as the processes its CLI starts.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const repoRoot = new URL('../../..', import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  metricsPort: number;
  /** The worker's stdout lines (pino JSON), as they arrive. */
  logs: string[];
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWorkerProcess(o: {
  roles: string;
  region?: 'US' | 'EU';
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Extra CLI arguments after the roles (e.g. --sync-interval 1s). */
  args?: string[];
}): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'scoring-sidecar/src/cli.ts'),
      'worker',
      '--roles',
      o.roles,
      '--region',
      o.region ?? 'EU',
      '--metrics-port',
      '0',
      ...(o.args ?? []),
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'info', ...o.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('leadrank worker did not start in time')),
      o.timeoutMs ?? 60_000,
    );
    child.once('exit', (code) => reject(new Error(`leadrank worker exited ${code} before it started`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      if (process.env.TEST_LOG_LEVEL) process.stderr.write(`${line}\n`);
      try {
        const entry = JSON.parse(line) as { msg?: string; metricsPort?: number };
        if (entry.msg === 'worker started' && entry.metricsPort) {
          clearTimeout(timer);
          resolve(entry.metricsPort);
        }
      } catch {
        // not a log line (the retrain command's own output)
      }
    });
  });
  const metrics = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    return res.text();
  };
  return {
    child,
    metricsPort: port,
    logs,
    metrics,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
