// The org-side steps of `sf leadrank org setup` and `org check`, through the REST API only, so they run
// against a real org or the org simulator alike: permission set and group assignments for the admin,
// the reps and the integration user, the integration user's External Client App, and the sidecar's readiness.
import { createSign } from 'node:crypto';

export const ADMIN_PERMISSION_SET = 'Leadrank_Admin';
export const INTEGRATION_PERMISSION_SET = 'Leadrank_Integration';
export const REP_GROUP = 'Leadrank_Reps';
/** force-app/main/default/externalClientApps/Leadrank_Sidecar.eca-meta.xml */
export const INTEGRATION_APP = 'Leadrank_Sidecar';
/** The scopes the app grants (ExtlClntAppOauthSettings): nothing beyond them. */
export const INTEGRATION_SCOPES = ['api', 'refresh_token'];
export const PACKAGE_PERMISSION_SETS = [
  'Leadrank_Admin',
  'Leadrank_User',
  'Leadrank_Auditor',
  'Leadrank_Integration',
  'Leadrank_Data_Load',
];

/**
 * The part of a connection the steps use: @salesforce/core's Connection (a jsforce connection) has it,
 * and so does a plain jsforce connection to the org simulator in tests.
 */
export interface OrgApi {
  query<T>(soql: string): Promise<{ records: T[] }>;
  sobject(name: string): {
    create(record: Record<string, unknown>): Promise<{ success: boolean; errors?: unknown }>;
  };
}
type Conn = OrgApi;

/** Salesforce string literal for SOQL (quotes and backslashes escaped). */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export async function userIdOf(conn: Conn, username: string): Promise<string | null> {
  const result = await conn.query<{ Id: string }>(
    `SELECT Id FROM User WHERE Username = ${literal(username)}`,
  );
  return result.records[0]?.Id ?? null;
}

export async function permissionSetIds(conn: Conn, names: string[]): Promise<Map<string, string>> {
  const result = await conn.query<{ Id: string; Name: string }>(
    `SELECT Id, Name FROM PermissionSet WHERE Name IN (${names.map(literal).join(', ')})`,
  );
  return new Map(result.records.map((r) => [r.Name, r.Id]));
}

export async function groupId(conn: Conn, developerName: string): Promise<string | null> {
  const result = await conn.query<{ Id: string }>(
    `SELECT Id FROM PermissionSetGroup WHERE DeveloperName = ${literal(developerName)}`,
  );
  return result.records[0]?.Id ?? null;
}

async function assignedIds(conn: Conn, userId: string): Promise<Set<string>> {
  const result = await conn.query<{ PermissionSetId: string | null; PermissionSetGroupId: string | null }>(
    `SELECT PermissionSetId, PermissionSetGroupId FROM PermissionSetAssignment WHERE AssigneeId = ${literal(userId)}`,
  );
  return new Set(
    result.records
      .flatMap((r) => [r.PermissionSetId, r.PermissionSetGroupId])
      .filter((x): x is string => Boolean(x)),
  );
}

export type AssignOutcome = 'assigned' | 'already assigned';

/** Assigns a permission set (or, with `group`, a permission set group) to a user once. */
export async function assign(
  conn: Conn,
  username: string,
  name: string,
  kind: 'permission set' | 'group' = 'permission set',
): Promise<AssignOutcome> {
  const userId = await userIdOf(conn, username);
  if (!userId) throw new Error(`No user ${username} in the org: check the username (sf org list users).`);
  const targetId =
    kind === 'group' ? await groupId(conn, name) : (await permissionSetIds(conn, [name])).get(name);
  if (!targetId)
    throw new Error(`The ${kind} ${name} is not in the org: deploy or install the package first.`);
  if ((await assignedIds(conn, userId)).has(targetId)) return 'already assigned';
  const record =
    kind === 'group'
      ? { AssigneeId: userId, PermissionSetGroupId: targetId }
      : { AssigneeId: userId, PermissionSetId: targetId };
  const result = await conn.sobject('PermissionSetAssignment').create(record as Record<string, unknown>);
  if (!result.success)
    throw new Error(`Could not assign ${name} to ${username}: ${JSON.stringify(result.errors)}`);
  return 'assigned';
}

export interface CheckItem {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** GET <sidecar>/readyz: ready, the model version, or why not. */
export async function sidecarReadiness(sidecarUrl: string, timeoutMs = 5000): Promise<CheckItem> {
  const check = `sidecar at ${sidecarUrl}`;
  try {
    const response = await fetch(new URL('/readyz', sidecarUrl), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as {
      ready?: boolean;
      checks?: { model?: { version?: string | null } };
    };
    if (response.ok && body.ready) {
      return { check, ok: true, detail: `ready, model ${body.checks?.model?.version ?? 'rules-only'}` };
    }
    return {
      check,
      ok: false,
      detail: `answered HTTP ${response.status}, not ready`,
      fix: 'See the checks in the sidecar answer to GET /readyz and its logs (docs/runbook.md).',
    };
  } catch (error) {
    return {
      check,
      ok: false,
      detail: `unreachable: ${(error as Error).message}`,
      fix: 'Start the sidecar or pass the right --sidecar-url; Salesforce must reach it over https.',
    };
  }
}

export interface IntegrationAppLogin {
  /** The org's login URL (https://login.salesforce.com, a My Domain, or the simulator). */
  loginUrl: string;
  /** The app's consumer key (Setup → External Client App Manager → Leadrank Sidecar → Settings → OAuth). */
  clientId: string;
  username: string;
  /** The sidecar's private key (PEM), whose certificate is in the app's global OAuth settings. */
  privateKeyPem: string;
}

/** RS256 JWT bearer assertion; node:crypto rather than a JWT library: three claims and one signature. */
function jwtAssertion(login: IntegrationAppLogin): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${b64({ alg: 'RS256' })}.${b64({
    iss: login.clientId,
    sub: login.username,
    aud: new URL(login.loginUrl).origin,
    exp: Math.floor(Date.now() / 1000) + 180,
  })}`;
  const signature = createSign('RSA-SHA256').update(body).sign(login.privateKeyPem).toString('base64url');
  return `${body}.${signature}`;
}

const APP_FIXES: Record<string, string> = {
  invalid_client_id: `the ${INTEGRATION_APP} External Client App is not in the org, or the consumer key is not its: deploy or install the package, then copy the key from Setup → External Client App Manager → ${INTEGRATION_APP} → Settings → OAuth Settings.`,
  invalid_client: `the app has no certificate: upload the sidecar's certificate (docs/salesforce.md, Integration user).`,
  'invalid_grant:user': `pre-authorize the integration user: ${INTEGRATION_APP} → Policies → Permitted Users "Admin approved users are pre-authorized", add the Leadrank_Integration permission set; and check the user is active.`,
  'invalid_grant:assertion': `the private key does not match the certificate in the app: upload the certificate of this key pair.`,
};

/**
 * Logs in as the integration user through the app (JWT bearer) and reads the scopes it grants: proves the app is
 * in place with the sidecar's certificate, the user is pre-authorized, and no scope beyond api/refresh_token.
 */
export async function integrationAppCheck(
  login: IntegrationAppLogin,
  timeoutMs = 10_000,
): Promise<CheckItem> {
  const check = `${INTEGRATION_APP} app for ${login.username}`;
  let response: Response;
  try {
    response = await fetch(new URL('/services/oauth2/token', login.loginUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwtAssertion(login),
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    return {
      check,
      ok: false,
      detail: `login URL unreachable: ${(error as Error).message}`,
      fix: "Check the org's login URL.",
    };
  }
  const body = (await response.json().catch(() => ({}))) as {
    error?: string;
    error_description?: string;
    scope?: string;
  };
  if (!response.ok) {
    const key =
      body.error === 'invalid_grant'
        ? /approved|user/i.test(body.error_description ?? '')
          ? 'invalid_grant:user'
          : 'invalid_grant:assertion'
        : (body.error ?? '');
    return {
      check,
      ok: false,
      detail: `JWT bearer login refused: ${body.error ?? response.status} (${body.error_description ?? 'no description'})`,
      fix: APP_FIXES[key] ?? 'See the error in Setup → Login History for the integration user.',
    };
  }
  const scopes = (body.scope ?? '').split(/\s+/).filter(Boolean);
  const extra = scopes.filter((s) => !INTEGRATION_SCOPES.includes(s));
  if (extra.length > 0)
    return {
      check,
      ok: false,
      detail: `the app grants more than it needs: ${extra.join(', ')}`,
      fix: `Narrow ${INTEGRATION_APP}'s OAuth scopes to ${INTEGRATION_SCOPES.join(', ')} (the package's ExtlClntAppOauthSettings).`,
    };
  return { check, ok: true, detail: `JWT bearer login works, scopes ${scopes.join(' ') || 'none reported'}` };
}

/** What `org check` reports: each missing piece with its fix. */
export async function checkOrg(
  conn: Conn,
  options: {
    adminUsername: string;
    integrationUsername?: string;
    sidecarUrl?: string;
    /** The integration app's login (consumer key and the sidecar's key): its JWT bearer login is checked. */
    integrationApp?: Omit<IntegrationAppLogin, 'username'>;
  },
): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  const sets = await permissionSetIds(conn, PACKAGE_PERMISSION_SETS);
  const missingSets = PACKAGE_PERMISSION_SETS.filter((n) => !sets.has(n));
  items.push(
    missingSets.length === 0
      ? { check: 'package permission sets', ok: true, detail: 'all present' }
      : {
          check: 'package permission sets',
          ok: false,
          detail: `missing ${missingSets.join(', ')}`,
          fix: 'Deploy or install the package: sf leadrank org setup --target-org <alias> --region US|EU --sidecar-url <url>',
        },
  );
  const group = await groupId(conn, REP_GROUP);
  items.push(
    group
      ? { check: `permission set group ${REP_GROUP}`, ok: true, detail: 'present; assign it to every rep' }
      : {
          check: `permission set group ${REP_GROUP}`,
          ok: false,
          detail: 'missing',
          fix: 'Deploy or install the package (sf leadrank org setup).',
        },
  );
  const holds = async (username: string, name: string): Promise<CheckItem> => {
    const userId = await userIdOf(conn, username);
    const setId = sets.get(name);
    if (!userId)
      return {
        check: `${name} for ${username}`,
        ok: false,
        detail: 'no such user',
        fix: 'Check the username (sf org list users).',
      };
    const ok = Boolean(setId) && (await assignedIds(conn, userId)).has(setId as string);
    return ok
      ? { check: `${name} for ${username}`, ok: true, detail: 'assigned' }
      : {
          check: `${name} for ${username}`,
          ok: false,
          detail: 'not assigned',
          fix: `sf org assign permset --name ${name} --on-behalf-of ${username}`,
        };
  };
  items.push(await holds(options.adminUsername, ADMIN_PERMISSION_SET));
  if (options.integrationUsername) {
    items.push(await holds(options.integrationUsername, INTEGRATION_PERMISSION_SET));
    items.push(
      options.integrationApp
        ? await integrationAppCheck({ ...options.integrationApp, username: options.integrationUsername })
        : {
            check: `${INTEGRATION_APP} app for ${options.integrationUsername}`,
            ok: false,
            detail: 'not checked',
            fix: "Pass --integration-client-id <the app's consumer key> and --integration-key-file <the sidecar's private key> to check its JWT bearer login.",
          },
    );
  } else
    items.push({
      check: 'integration user',
      ok: false,
      detail: 'not given',
      fix: 'Pass --integration-username <the sidecar API-only user> so it gets Leadrank_Integration.',
    });
  if (options.sidecarUrl) items.push(await sidecarReadiness(options.sidecarUrl));
  return items;
}
