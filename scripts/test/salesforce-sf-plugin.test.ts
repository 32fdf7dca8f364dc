// sf leadrank org setup / org check (sf-plugin/): the REST steps against the org simulator, the deploy
// step up to conversion offline (a real deploy needs an org with the Metadata API).
import { generateKeyPairSync } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import jsforce from 'jsforce';
import pino from 'pino';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOrg, type OrgApi } from '../../sf-plugin/src/lib/org-steps.js';
import { preparedSource } from '../../sf-plugin/src/lib/package-source.js';
import { rulesDrift } from '../../sf-plugin/src/lib/rules-check.js';
import { setupOrg } from '../../sf-plugin/src/lib/setup.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const CLIENT = { clientId: 'sf-plugin-test', clientSecret: 'sf-plugin-test-secret' };
const UNREACHABLE = 'http://127.0.0.1:9/';
// The Leadrank_Sidecar External Client App as an org holds it: its consumer key and the sidecar's certificate.
const pem = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const SIDECAR_KEY = pem();
const APP = { clientId: 'leadrank-sidecar-consumer-key', certificate: SIDECAR_KEY.publicKey };
let sim: RunningOrgSimulator;
let conn: jsforce.Connection;
let api: OrgApi;

beforeAll(async () => {
  sim = await startOrgSimulator({ port: 0, clients: [CLIENT, APP], logger: pino({ level: 'silent' }) });
  conn = new jsforce.Connection({ oauth2: { ...CLIENT, loginUrl: sim.url }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });
  api = conn as unknown as OrgApi;
  // What deploying the package creates: its permission sets and the reps' group. And three users.
  for (const name of [
    'Leadrank_Admin',
    'Leadrank_User',
    'Leadrank_Auditor',
    'Leadrank_Integration',
    'Leadrank_Data_Load',
  ])
    await conn.sobject('PermissionSet').create({ Name: name, Label: name.replace('_', ' ') });
  await conn
    .sobject('PermissionSetGroup')
    .create({ DeveloperName: 'Leadrank_Reps', MasterLabel: 'Leadrank Reps' });
  for (const username of ['admin@acme.test', 'leadrank@acme.test', 'rep@acme.test'])
    await conn
      .sobject('User')
      .create({ Username: username, LastName: username.split('@')[0], Email: username });
});
afterAll(async () => sim?.close());

const silent = { step: () => {}, done: () => {} };

describe('sf leadrank org setup', () => {
  it('prepares the package, assigns admin, integration and rep access once, and reports the sidecar', async () => {
    const deployed: string[] = [];
    const options = {
      projectDir: repoRoot,
      region: 'EU' as const,
      sidecarUrl: UNREACHABLE,
      adminUsername: 'admin@acme.test',
      integrationUsername: 'leadrank@acme.test',
      repUsernames: ['rep@acme.test'],
    };

    const first = await setupOrg(api, options, silent, async (dir) => void deployed.push(dir));
    const again = await setupOrg(api, options, silent, async () => {});

    expect(first.components).toBeGreaterThan(100);
    expect(deployed).toHaveLength(1);
    expect(first.assignments.map((a) => `${a.name}:${a.outcome}`)).toEqual([
      'Leadrank_Admin:assigned',
      'Leadrank_Integration:assigned',
      'Leadrank_Reps:assigned',
    ]);
    expect(again.assignments.every((a) => a.outcome === 'already assigned')).toBe(true);
    const rows = await conn.query('SELECT Id FROM PermissionSetAssignment');
    expect(rows.totalSize).toBe(3);
    expect(first.sidecar.ok).toBe(false);
    expect(first.sidecar.fix).toContain('--sidecar-url');
  });

  it('names a user that does not exist, and refuses a sidecar URL that is not https', async () => {
    await expect(
      setupOrg(
        api,
        {
          projectDir: repoRoot,
          region: 'US',
          sidecarUrl: UNREACHABLE,
          adminUsername: 'nobody@acme.test',
          skipDeploy: true,
        },
        silent,
        async () => {},
      ),
    ).rejects.toThrow('No user nobody@acme.test in the org');
    await expect(
      preparedSource(join(repoRoot, 'force-app'), 'US', 'http://leadrank.acme.com'),
    ).rejects.toThrow('--sidecar-url must be https');
  });

  it('points only the region Named Credential at the sidecar in what it deploys', async () => {
    const source = await preparedSource(join(repoRoot, 'force-app'), 'EU', 'https://leadrank-eu.acme.com/');
    try {
      const eu = await readFile(
        join(source, 'main/default/namedCredentials/Leadrank_Sidecar_EU.namedCredential-meta.xml'),
        'utf8',
      );
      const us = await readFile(
        join(source, 'main/default/namedCredentials/Leadrank_Sidecar.namedCredential-meta.xml'),
        'utf8',
      );
      expect(eu).toContain('<parameterValue>https://leadrank-eu.acme.com</parameterValue>');
      expect(us).toContain('<parameterValue>https://leadrank-us.example.com</parameterValue>');
    } finally {
      await rm(join(source, '..'), { recursive: true, force: true });
    }
  });

  it('finds the scoring rules in sync with config/rules', async () => {
    expect(
      await rulesDrift(join(repoRoot, 'force-app'), join(repoRoot, 'config', 'rules', 'default.json')),
    ).toEqual([]);
  });
});

describe('sf leadrank org check', () => {
  it('reports what is missing, each with its fix', async () => {
    const items = await checkOrg(api, { adminUsername: 'rep@acme.test', sidecarUrl: UNREACHABLE });
    const failed = items.filter((i) => !i.ok).map((i) => `${i.check}: ${i.fix}`);

    expect(items.find((i) => i.check === 'package permission sets')?.ok).toBe(true);
    expect(failed).toEqual([
      'Leadrank_Admin for rep@acme.test: sf org assign permset --name Leadrank_Admin --on-behalf-of rep@acme.test',
      'integration user: Pass --integration-username <the sidecar API-only user> so it gets Leadrank_Integration.',
      `sidecar at ${UNREACHABLE}: Start the sidecar or pass the right --sidecar-url; Salesforce must reach it over https.`,
    ]);
  });
});

describe("the integration user's External Client App (Leadrank_Sidecar)", () => {
  const appItem = async (integrationApp?: { clientId: string; privateKeyPem: string }) => {
    const items = await checkOrg(api, {
      adminUsername: 'admin@acme.test',
      integrationUsername: 'leadrank@acme.test',
      ...(integrationApp ? { integrationApp: { ...integrationApp, loginUrl: sim.url } } : {}),
    });
    return items.find((i) => i.check === 'Leadrank_Sidecar app for leadrank@acme.test');
  };

  it('passes when the integration user logs in through the app with the sidecar key (JWT bearer, scope api)', async () => {
    const item = await appItem({ clientId: APP.clientId, privateKeyPem: SIDECAR_KEY.privateKey });
    expect(item).toMatchObject({ ok: true, detail: 'JWT bearer login works, scopes api' });
  });

  it('names the fix for a missing app, a key that is not the certificate and an unchecked app', async () => {
    const missing = await appItem({ clientId: 'no-such-app', privateKeyPem: SIDECAR_KEY.privateKey });
    expect(missing?.ok).toBe(false);
    expect(missing?.fix).toMatch(/^the Leadrank_Sidecar External Client App is not in the org/);
    const wrongKey = await appItem({ clientId: APP.clientId, privateKeyPem: pem().privateKey });
    expect(wrongKey?.fix).toBe(
      'the private key does not match the certificate in the app: upload the certificate of this key pair.',
    );
    const unchecked = await appItem();
    expect(unchecked).toMatchObject({ ok: false, detail: 'not checked' });
    expect(unchecked?.fix).toContain('--integration-client-id');
  });

  it('is a setup step when the key is given', async () => {
    const report = await setupOrg(
      api,
      {
        projectDir: repoRoot,
        region: 'EU',
        sidecarUrl: 'https://leadrank-eu.acme.test',
        adminUsername: 'admin@acme.test',
        integrationUsername: 'leadrank@acme.test',
        skipDeploy: true,
        integrationApp: { clientId: APP.clientId, privateKeyPem: SIDECAR_KEY.privateKey, loginUrl: sim.url },
      },
      silent,
      async () => {},
    );
    expect(report.integrationApp?.ok).toBe(true);
  }, 60_000);
});

describe('the Leadrank_Sidecar app metadata', () => {
  it('asks for api and refresh_token only, pre-authorizes by admin, and commits no secret', async () => {
    const base = join(repoRoot, 'force-app', 'main', 'default');
    const oauth = await readFile(
      join(base, 'extlClntAppOauthSettings', 'Leadrank_Sidecar_oauth.ecaOauth-meta.xml'),
      'utf8',
    );
    expect(oauth).toContain('<commaSeparatedOauthScopes>Api,RefreshToken</commaSeparatedOauthScopes>');
    const policy = await readFile(
      join(base, 'extlClntAppOauthPolicies', 'Leadrank_Sidecar_oauthPlcy.ecaOauthPlcy-meta.xml'),
      'utf8',
    );
    expect(policy).toContain(
      '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>',
    );
    expect(policy).toContain('<isClientCredentialsFlowEnabled>false</isClientCredentialsFlowEnabled>');
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)(
      'git',
      ['ls-files', 'force-app', 'config', 'scripts', 'sf-plugin'],
      {
        cwd: repoRoot,
      },
    );
    expect(stdout.split('\n').filter((f) => /ecaGlblOauth-meta\.xml$|\.key$|\.pem$/.test(f))).toEqual([]);
  });
});
