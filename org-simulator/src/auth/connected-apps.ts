// Stands in for Setup → App Manager: the Connected Apps (consumer key, secret, certificate) the org trusts.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A Connected App the simulator accepts tokens for. */
export interface ConnectedApp {
  clientId: string;
  /** client credentials flow; omit to allow only JWT bearer */
  clientSecret?: string;
  /** PEM public key or X.509 certificate for the JWT bearer flow */
  certificate?: string;
  /** client credentials flow's "Run As" user (Username); default: the integration user */
  runAsUsername?: string;
  /** default 7200 (Salesforce's 2 h session timeout) */
  sessionTimeoutSeconds?: number;
}

const connectedAppSchema = z.object({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  certificate: z.string().min(1).optional(),
  certificateFile: z.string().min(1).optional(),
  runAsUsername: z.string().min(1).optional(),
  sessionTimeoutSeconds: z.number().int().positive().optional(),
});

/** Parses a JSON array of apps; `certificateFile` entries are read from disk. */
export function parseConnectedApps(json: string, source: string): ConnectedApp[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${source}: not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(connectedAppSchema).safeParse(raw);
  if (!parsed.success) throw new Error(`${source}: ${parsed.error.message}`);
  return parsed.data.map(({ certificateFile, ...app }) => ({
    ...app,
    ...(certificateFile ? { certificate: readFileSync(certificateFile, 'utf8') } : {}),
  }));
}

/** Apps from `ORG_SIM_CLIENTS` (JSON) or `ORG_SIM_CLIENTS_FILE` (path to JSON); empty when neither is set. */
export function connectedAppsFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectedApp[] {
  if (env.ORG_SIM_CLIENTS) return parseConnectedApps(env.ORG_SIM_CLIENTS, 'ORG_SIM_CLIENTS');
  if (env.ORG_SIM_CLIENTS_FILE) {
    return parseConnectedApps(readFileSync(env.ORG_SIM_CLIENTS_FILE, 'utf8'), env.ORG_SIM_CLIENTS_FILE);
  }
  return [];
}
