// The sidecar's way into Salesforce, driven against the org simulator exactly as it would a real org.
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { connectToOrg, orgAuthFromEnv } from '../src/salesforce/org-connection.js';

const app = { clientId: 'leadrank-sidecar', clientSecret: 'a-test-secret-from-the-environment' };
let now = Date.now(); // assertions are signed against the real clock
let sim: RunningOrgSimulator;
let privateKeyPem: string;

beforeAll(async () => {
  const keys = await generateKeyPair('RS256', { extractable: true });
  privateKeyPem = await exportPKCS8(keys.privateKey);
  sim = await startOrgSimulator({
    port: 0,
    logger: pino({ level: 'silent' }),
    clock: () => new Date(now),
    clients: [
      { ...app, sessionTimeoutSeconds: 60 },
      { clientId: 'leadrank-jwt', certificate: await exportSPKI(keys.publicKey) },
    ],
  });
});
afterAll(async () => sim?.close());

describe('connecting to an org', () => {
  it('authorizes with the client credentials flow from the environment and queries', async () => {
    const auth = orgAuthFromEnv({
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: app.clientId,
      SF_CLIENT_SECRET: app.clientSecret,
    });
    expect(auth.flow).toBe('client_credentials');
    const conn = await connectToOrg(auth);
    await conn.sobject('Lead').create({ LastName: 'Okafor', Company: 'Northwind', Data_Region__c: 'US' });
    const result = await conn.query<{ Id: string }>("SELECT Id FROM Lead WHERE Company = 'Northwind'");
    expect(result.totalSize).toBe(1);
    expect(conn.instanceUrl).toBe(sim.url);
  });

  it('authorizes with the JWT bearer flow (RS256 assertion signed with the configured key)', async () => {
    const admin = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const [user] = (await admin.query<{ Username: string }>('SELECT Username FROM User LIMIT 1')).records;
    const auth = orgAuthFromEnv({
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: 'leadrank-jwt',
      SF_USERNAME: user!.Username,
      SF_JWT_PRIVATE_KEY: privateKeyPem,
    });
    expect(auth.flow).toBe('jwt_bearer');
    const conn = await connectToOrg(auth);
    const limits = await conn.limits();
    expect(limits.DailyApiRequests?.Max).toBeGreaterThan(0);
  });

  it('renews an expired session by running the grant again', async () => {
    const conn = await connectToOrg(
      orgAuthFromEnv({
        SF_LOGIN_URL: sim.url,
        SF_CLIENT_ID: app.clientId,
        SF_CLIENT_SECRET: app.clientSecret,
      }),
    );
    const firstToken = conn.accessToken;
    now += 61_000; // past the app's 60 s session timeout
    const result = await conn.query('SELECT COUNT() FROM Lead');
    expect(result.totalSize).toBeGreaterThanOrEqual(1);
    expect(conn.accessToken).not.toBe(firstToken);
  });

  it('fails clearly on a wrong secret and on missing settings', async () => {
    await expect(
      connectToOrg({
        flow: 'client_credentials',
        loginUrl: sim.url,
        clientId: app.clientId,
        clientSecret: 'wrong',
      }),
    ).rejects.toMatchObject({ name: 'invalid_client', message: 'invalid client credentials' });
    expect(() => orgAuthFromEnv({ SF_LOGIN_URL: sim.url })).toThrow(/SF_CLIENT_ID is missing/);
    expect(() => orgAuthFromEnv({ SF_LOGIN_URL: 'not a url', SF_CLIENT_ID: 'x' })).toThrow(
      /SF_LOGIN_URL is not valid/,
    );
    expect(() => orgAuthFromEnv({ SF_LOGIN_URL: sim.url, SF_CLIENT_ID: 'x' })).toThrow(
      /SF_CLIENT_SECRET is missing/,
    );
  });
});
