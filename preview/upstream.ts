// The preview server's way to the sidecar and the org: each holds its own credentials and session, so the
// browser only ever sees the preview's short-lived demo token.
import type jsforce from 'jsforce';
import { connectToOrg } from '../scoring-sidecar/src/salesforce/org-connection.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface Upstream {
  /** `path` starts with `/`; `body` is JSON-serialized. */
  send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<UpstreamAnswer>;
}

const TOKEN_MARGIN_MS = 30_000;

async function forward(url: string, method: string, token: string, body: unknown): Promise<UpstreamAnswer> {
  const response = await fetch(url, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? 'application/json',
    body: await response.text(),
  };
}

/**
 * The sidecar through its own OAuth 2.0 client credentials endpoint (`POST /oauth/token`); the access token
 * is cached until shortly before it expires, and fetched again once on a 401.
 */
export function sidecarUpstream(baseUrl: string, client: ClientCredentials): Upstream {
  const base = baseUrl.replace(/\/+$/, '');
  let cached: { token: string; expiresAt: number } | null = null;

  async function token(): Promise<string> {
    if (cached && cached.expiresAt - TOKEN_MARGIN_MS > Date.now()) return cached.token;
    const response = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!response.ok) throw new Error(`sidecar token request failed: HTTP ${response.status}`);
    const answer = (await response.json()) as { access_token: string; expires_in: number };
    cached = { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000 };
    return cached.token;
  }

  return {
    async send(method, path, body) {
      let answer = await forward(`${base}${path}`, method, await token(), body);
      if (answer.status === 401) {
        cached = null;
        answer = await forward(`${base}${path}`, method, await token(), body);
      }
      return answer;
    },
  };
}

/**
 * The org's REST API (`/services/data/vXX.X` + path) with a session from the OAuth 2.0 client credentials
 * flow (jsforce, as the sidecar connects). Requests go through fetch, not `conn.request`, because a proxy
 * must pass the org's status and error body through unchanged; an expired session is renewed once.
 */
export function orgUpstream(loginUrl: string, client: ClientCredentials, apiVersion = '62.0'): Upstream {
  let connection: Promise<jsforce.Connection> | null = null;
  const connect = () =>
    (connection ??= connectToOrg({ flow: 'client_credentials', loginUrl, ...client }, { apiVersion }).catch(
      (error: unknown) => {
        connection = null;
        throw error;
      },
    ));

  async function once(method: string, path: string, body: unknown): Promise<UpstreamAnswer> {
    const conn = await connect();
    return forward(
      `${conn.instanceUrl}/services/data/v${apiVersion}${path}`,
      method,
      conn.accessToken ?? '',
      body,
    );
  }

  return {
    async send(method, path, body) {
      const answer = await once(method, path, body);
      if (answer.status !== 401) return answer;
      connection = null;
      return once(method, path, body);
    },
  };
}
