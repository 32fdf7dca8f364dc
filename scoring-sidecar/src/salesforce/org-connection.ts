// One way into a Salesforce org for every Leadrank process: a jsforce Connection authorized with an
// OAuth 2.0 server-to-server flow (client credentials or JWT bearer). The same code talks to a real org
// and to the org simulator; only the login URL and the Connected App's credentials differ.
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import jsforce from 'jsforce';
import { z } from 'zod';

export const DEFAULT_API_VERSION = '62.0';

export type OrgAuth =
  | { flow: 'client_credentials'; loginUrl: string; clientId: string; clientSecret: string }
  | {
      flow: 'jwt_bearer';
      loginUrl: string;
      clientId: string;
      username: string;
      privateKeyPem: string;
      /** The JWT `aud`: login.salesforce.com or test.salesforce.com even when posting to a My Domain URL. */
      audience: string;
    };

const urlField = z.string().url();
const nonEmpty = z.string().min(1);

/**
 * Reads the org's credentials from the environment (never from the repository):
 * `<prefix>LOGIN_URL`, `<prefix>CLIENT_ID`, and either `<prefix>CLIENT_SECRET` (client credentials) or
 * `<prefix>USERNAME` with `<prefix>JWT_PRIVATE_KEY` / `<prefix>JWT_PRIVATE_KEY_FILE` (JWT bearer; optional
 * `<prefix>JWT_AUDIENCE`, by default the login URL's origin).
 */
export function orgAuthFromEnv(env: NodeJS.ProcessEnv = process.env, prefix = 'SF_'): OrgAuth {
  const read = (name: string) => env[`${prefix}${name}`];
  const need = (name: string, schema: z.ZodString = nonEmpty): string => {
    const parsed = schema.safeParse(read(name));
    if (!parsed.success) {
      throw new Error(`${prefix}${name} is ${read(name) ? 'not valid' : 'missing'}: ${orgAuthHelp(prefix)}`);
    }
    return parsed.data;
  };
  const loginUrl = need('LOGIN_URL', urlField);
  const clientId = need('CLIENT_ID');
  const keyFile = read('JWT_PRIVATE_KEY_FILE');
  const keyPem = read('JWT_PRIVATE_KEY') ?? (keyFile ? readFileSync(keyFile, 'utf8') : undefined);
  if (keyPem) {
    const audience = read('JWT_AUDIENCE') ?? new URL(loginUrl).origin;
    return {
      flow: 'jwt_bearer',
      loginUrl,
      clientId,
      username: need('USERNAME'),
      privateKeyPem: keyPem,
      audience,
    };
  }
  return { flow: 'client_credentials', loginUrl, clientId, clientSecret: need('CLIENT_SECRET') };
}

function orgAuthHelp(prefix: string): string {
  return (
    `set ${prefix}LOGIN_URL and ${prefix}CLIENT_ID, plus ${prefix}CLIENT_SECRET (client credentials flow) ` +
    `or ${prefix}USERNAME and ${prefix}JWT_PRIVATE_KEY_FILE (JWT bearer flow)`
  );
}

/** Signs the short-lived RS256 assertion of the JWT bearer flow (Salesforce accepts at most 3 minutes). */
export async function signJwtAssertion(auth: Extract<OrgAuth, { flow: 'jwt_bearer' }>): Promise<string> {
  const key = await importPKCS8(auth.privateKeyPem, 'RS256');
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(auth.clientId)
    .setSubject(auth.username)
    .setAudience(auth.audience)
    .setExpirationTime('3m')
    .sign(key);
}

async function grantParams(auth: OrgAuth): Promise<{ grant_type: string; [name: string]: string }> {
  if (auth.flow === 'client_credentials') return { grant_type: 'client_credentials' };
  return {
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: await signJwtAssertion(auth),
  };
}

/**
 * Authorizes and returns a connection. Server-to-server flows have no refresh token, so an expired
 * session is renewed by running the same grant again (jsforce calls `refreshFn` on INVALID_SESSION_ID).
 */
export async function connectToOrg(
  auth: OrgAuth,
  opts: { apiVersion?: string } = {},
): Promise<jsforce.Connection> {
  const oauth2 = {
    loginUrl: auth.loginUrl,
    clientId: auth.clientId,
    ...(auth.flow === 'client_credentials' ? { clientSecret: auth.clientSecret } : {}),
  };
  const conn = new jsforce.Connection({
    oauth2,
    loginUrl: auth.loginUrl,
    version: opts.apiVersion ?? DEFAULT_API_VERSION,
    refreshFn: (c, callback) => {
      grantParams(auth)
        .then((params) => c.authorize(params))
        .then(() => callback(null, c.accessToken ?? undefined))
        .catch((err: Error) => callback(err));
    },
  });
  await conn.authorize(await grantParams(auth));
  return conn;
}
