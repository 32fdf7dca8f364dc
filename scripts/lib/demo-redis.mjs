// Redis for `npm run demo` when REDIS_URL is not set: a private redis-server on a port of its own, without
// persistence, a child of the demo (it stops with it). Node built-ins only: this runs before npm packages exist.
import { spawn, spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const ping = (port) =>
  new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

/** Starts redis-server on `port` (DEMO_REDIS_PORT, default 6391); returns its URL and a stop function. */
export async function startDemoRedis(port = Number(process.env.DEMO_REDIS_PORT ?? 6391)) {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      'the demo needs Redis: install redis-server (apt-get install -y redis-server) or set REDIS_URL',
    );
  }
  if (await ping(port))
    throw new Error(`port ${port} already answers PING: set DEMO_REDIS_PORT or REDIS_URL`);
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let waited = 0; !(await ping(port)); waited += 100) {
    if (child.exitCode !== null)
      throw new Error(`redis-server on port ${port} exited (code ${child.exitCode})`);
    if (waited > 10_000) throw new Error(`redis-server on port ${port} did not answer within 10 s`);
    await sleep(100);
  }
  console.log(`▶ Redis for the demo: redis-server on 127.0.0.1:${port} (pid ${child.pid}, no persistence)`);
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}
