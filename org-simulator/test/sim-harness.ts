import jsforce from 'jsforce';
import pino from 'pino';
import { startOrgSimulator, type RunningOrgSimulator, type StartOptions } from '../src/server.js';

export const CLIENT = { clientId: 'test-client', clientSecret: 'test-secret-not-for-production' };

export interface Harness {
  sim: RunningOrgSimulator;
  conn: jsforce.Connection;
}

/** A simulator on a random port and a jsforce connection authorized by the client-credentials flow. */
export async function startHarness(opts: StartOptions = {}): Promise<Harness> {
  const sim = await startOrgSimulator({
    port: 0,
    clients: [CLIENT],
    logger: pino({ level: 'silent' }),
    ...opts,
  });
  const conn = new jsforce.Connection({
    oauth2: { ...CLIENT, loginUrl: sim.url },
    version: '62.0',
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return { sim, conn };
}

/** Connection with an explicit token, as the brief's tests construct it. */
export function connectionWithToken(url: string, accessToken: string): jsforce.Connection {
  return new jsforce.Connection({ instanceUrl: url, accessToken, version: '62.0' });
}

export async function apiFetch(h: Harness, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${h.sim.url}${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${h.conn.accessToken}`,
      'Content-Type': 'application/json',
      ...init.headers,
    },
  });
}

/** jsforce rejects with an Error carrying Salesforce's errorCode. */
export async function errorOf(
  promise: PromiseLike<unknown>,
): Promise<{ errorCode?: string; name?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { errorCode?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

export function lead(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { LastName: `Last${i}`, Company: `Company ${i}`, ...extra };
}
