// Sidecar test support: a model source a test sets by hand (the sidecar serves `model`, null: the rules), a
// token for a configured API client, and a JSON POST with it.
import type { ModelSource, ServingModel } from '../../src/scoring/index.js';

export class SettableModels implements ModelSource {
  model: ServingModel | null = null;
  current() {
    return this.model;
  }
  status() {
    return { version: this.model?.version ?? null, loadedAt: null, lastError: null };
  }
  async close() {}
}

/** A bearer token for a configured API client (client credentials grant). */
export async function clientToken(base: string, clientId: string, secret: string): Promise<string> {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${secret}`,
  });
  if (!res.ok) throw new Error(`token for ${clientId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** POSTs `body` as JSON to `base + path` with the bearer token; the status and the parsed answer. */
export async function postJson(
  base: string,
  token: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
