// Test support for the wired measurement layer: a synthetic model with its drift baseline beside it, and a
// sidecar started like `leadrank serve` (startServer) on temporary audit and state directories, with a token.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { baselineFromTrainingSet, writeBaseline } from '../src/monitoring/baseline.js';
import { loadServingModel } from '../src/scoring/model-source.js';
import { startServer, type SidecarOverrides } from '../src/server.js';
import { trainSyntheticModel } from './api-test-kit.js';

const SECRET = 'monitoring-kit-secret';
const CLIENTS = [
  {
    clientId: 'salesforce-us',
    clientSecretSha256: createHash('sha256').update(SECRET).digest('hex'),
    region: 'US',
    name: 'Salesforce US org',
  },
];

/** A model trained on synthetic leads, with baseline-stats.json computed from its own training set. */
export async function modelWithBaseline(
  rows = 2000,
): Promise<{ dir: string; version: string; work: string }> {
  const work = await mkdtemp(join(tmpdir(), 'monitoring-model-'));
  const dir = await trainSyntheticModel(work, rows);
  const serving = await loadServingModel(dir);
  await writeBaseline(
    dir,
    await baselineFromTrainingSet(join(work, 'data'), (rows, n) => serving.predict(rows, n)),
  );
  const version = serving.version;
  await serving.onnx.close();
  return { dir, version, work };
}

export interface KitSidecar {
  base: string;
  sidecar: Awaited<ReturnType<typeof startServer>>['sidecar'];
  token: string;
  /** JSON call with the bearer token. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<KitResponse>;
  stop(): Promise<void>;
}

export interface KitResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

/** A US sidecar as `leadrank serve` assembles it, on fresh temporary audit and state directories. */
export async function startKitSidecar(
  env: Record<string, string> = {},
  overrides: SidecarOverrides & { logger?: Logger } = {},
): Promise<KitSidecar> {
  const dir = await mkdtemp(join(tmpdir(), 'monitoring-sidecar-'));
  const started = await startServer(
    {
      REGION: 'US',
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_CLIENTS: JSON.stringify(CLIENTS),
      LEADRANK_TOKEN_SIGNING_KEY: 'monitoring-kit-signing-key-0123456789abcdef',
      LEADRANK_AUDIT_DIR: join(dir, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_STATE_DIR: join(dir, 'state'),
      ...env,
    },
    overrides,
  );
  const base = `http://127.0.0.1:${started.port}`;
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=salesforce-us&client_secret=${SECRET}`,
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<KitResponse> => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        authorization: `Bearer ${token}`,
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: r.status, json, text };
  };
  return {
    base,
    sidecar: started.sidecar,
    token,
    call,
    stop: async () => {
      await started.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
