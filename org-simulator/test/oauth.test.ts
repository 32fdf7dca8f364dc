import jsforce from 'jsforce';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '../src/server.js';
import { CLIENT, connectionWithToken, errorOf } from './sim-harness.js';

const JWT_CLIENT = 'jwt-client';
const JWT_USER = 'sidecar.integration@example.com';

describe('OAuth 2.0 flows (jsforce)', () => {
  let sim: RunningOrgSimulator;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    sim = await startOrgSimulator({
      port: 0,
      logger: pino({ level: 'silent' }),
      clients: [CLIENT, { clientId: JWT_CLIENT, certificate: await exportSPKI(pair.publicKey) }],
    });
    const [user] = sim.ctx.store.insert('User', [
      { Username: JWT_USER, LastName: 'Sidecar', Email: JWT_USER },
    ]);
    expect(user?.success).toBe(true);
  });
  afterAll(() => sim.close());

  const connect = (clientId: string, clientSecret?: string) =>
    new jsforce.Connection({
      oauth2: { clientId, ...(clientSecret ? { clientSecret } : {}), loginUrl: sim.url },
      version: '62.0',
    });

  const assertion = (
    opts: { key?: CryptoKey; sub?: string; aud?: string; exp?: string | number; iss?: string } = {},
  ) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(opts.iss ?? JWT_CLIENT)
      .setSubject(opts.sub ?? JWT_USER)
      .setAudience(opts.aud ?? sim.url)
      .setExpirationTime(opts.exp ?? '2m')
      .sign(opts.key ?? privateKey);

  it('issues a working token for client credentials', async () => {
    const conn = connect(CLIENT.clientId, CLIENT.clientSecret);
    const info = await conn.authorize({ grant_type: 'client_credentials' });
    expect(info.organizationId).toMatch(/^00D/);
    expect(conn.instanceUrl).toBe(sim.url);
    const result = await conn.query('SELECT Id FROM User');
    expect(result.totalSize).toBeGreaterThanOrEqual(2);
  });

  it('rejects an unknown client id and a wrong secret as Salesforce does', async () => {
    const unknown = await errorOf(connect('nobody', 'x').authorize({ grant_type: 'client_credentials' }));
    expect(unknown.name).toBe('invalid_client_id');
    const wrong = await errorOf(
      connect(CLIENT.clientId, 'wrong').authorize({ grant_type: 'client_credentials' }),
    );
    expect(wrong.name).toBe('invalid_client');
    const unsupported = await errorOf(
      connect(CLIENT.clientId, CLIENT.clientSecret).authorize({ grant_type: 'password' }),
    );
    expect(unsupported.name).toBe('unsupported_grant_type');
  });

  it('issues a token for a valid JWT bearer assertion, as the sub user', async () => {
    const conn = connect(JWT_CLIENT);
    const info = await conn.authorize({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: await assertion(),
    });
    const me = await conn.query<{ Username: string }>(`SELECT Username FROM User WHERE Id = '${info.id}'`);
    expect(me.records[0]?.Username).toBe(JWT_USER);
  });

  it.each([
    ['signed with another key', { key: 'other' }, 'invalid_grant'],
    ['expired', { exp: Math.floor(Date.now() / 1000) - 60 }, 'invalid_grant'],
    ['exp more than 3 minutes ahead', { exp: '10m' }, 'invalid_grant'],
    ['wrong audience', { aud: 'https://evil.example.com' }, 'invalid_grant'],
    ['unknown user', { sub: 'nobody@example.com' }, 'invalid_grant'],
    ['unknown issuer', { iss: 'nobody' }, 'invalid_client_id'],
  ])('rejects a JWT %s', async (_label, opts, expected) => {
    const { key, ...rest } = opts as {
      key?: string;
      exp?: string | number;
      aud?: string;
      sub?: string;
      iss?: string;
    };
    const jwt = await assertion({ ...rest, ...(key ? { key: otherKey } : {}) });
    const error = await errorOf(
      connect(JWT_CLIENT).authorize({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: jwt,
      }),
    );
    expect(error.name).toBe(expected);
  });

  it('answers 401 INVALID_SESSION_ID for unknown, expired and revoked tokens', async () => {
    const unknown = await errorOf(connectionWithToken(sim.url, 'bogus').query('SELECT Id FROM Lead'));
    expect(unknown.errorCode).toBe('INVALID_SESSION_ID');

    const conn = connect(CLIENT.clientId, CLIENT.clientSecret);
    await conn.authorize({ grant_type: 'client_credentials' });
    const token = conn.accessToken ?? '';
    sim.oauth.sessions.expire(token);
    const expired = await errorOf(connectionWithToken(sim.url, token).query('SELECT Id FROM Lead'));
    expect(expired.errorCode).toBe('INVALID_SESSION_ID');
    expect(expired.message).toBe('Session expired or invalid');

    const fresh = connect(CLIENT.clientId, CLIENT.clientSecret);
    await fresh.authorize({ grant_type: 'client_credentials' });
    await fresh.oauth2.revokeToken(fresh.accessToken ?? '');
    const revoked = await errorOf(
      connectionWithToken(sim.url, fresh.accessToken ?? '').query('SELECT Id FROM Lead'),
    );
    expect(revoked.errorCode).toBe('INVALID_SESSION_ID');
  });
});
