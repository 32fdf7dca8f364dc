// The oclif commands themselves (flag parsing, --target-org resolution through @salesforce/core's stored
// auth, the report) against the org simulator. @salesforce/core reads ~/.sfdx at import time, so HOME
// points at a temporary folder before anything imports it (vitest runs each file in its own process).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'leadrank-sf-home-'));
process.env.HOME = home;
process.env.SF_USE_GENERIC_UNIX_KEYCHAIN = 'true';
process.env.SF_DISABLE_TELEMETRY = 'true';
process.env.SF_AUTOUPDATE_DISABLE = 'true';

const repoRoot = join(import.meta.dirname, '..', '..');
const CLIENT = { clientId: 'sf-cmd-test', clientSecret: 'sf-cmd-test-secret' };
const USERNAME = 'admin@acme.test';
let close: () => Promise<void>;

beforeAll(async () => {
  const { default: pino } = await import('pino');
  const { startOrgSimulator } = await import('@leadrank/org-simulator');
  const sim = await startOrgSimulator({ port: 0, clients: [CLIENT], logger: pino({ level: 'silent' }) });
  close = sim.close;
  const token = (await (
    await fetch(`${sim.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
      }),
    })
  ).json()) as { access_token: string };
  // What `sf org login` stores (an encrypted auth file under ~/.sfdx), written directly: the simulator has
  // no OpenID userinfo endpoint, which AuthInfo.create uses to learn the username of a bare access token.
  const { AuthInfo, Connection, StateAggregator } = await import('@salesforce/core');
  const state = await StateAggregator.getInstance();
  state.orgs.set(USERNAME, {
    username: USERNAME,
    accessToken: token.access_token,
    instanceUrl: sim.url,
    loginUrl: sim.url,
    orgId: '00D000000000001AAA',
    instanceApiVersion: '62.0',
  });
  await state.orgs.write(USERNAME);
  const conn = await Connection.create({
    authInfo: await AuthInfo.create({ username: USERNAME }),
    connectionOptions: { version: '62.0' },
  });
  await conn.sobject('User').create({ Username: USERNAME, LastName: 'Admin', Email: USERNAME });
  await conn.sobject('PermissionSet').create({ Name: 'Leadrank_Admin', Label: 'Leadrank Admin' });
}, 120_000);
afterAll(async () => close?.());

describe('sf leadrank org check (the command)', () => {
  it('resolves --target-org, reports each missing piece and exits 1', async () => {
    const { Config } = await import('@oclif/core');
    const { default: LeadrankOrgCheck } = await import('../../sf-plugin/src/commands/leadrank/org/check.js');
    const config = await Config.load(join(repoRoot, 'sf-plugin'));
    // vitest replaces the global console with one that has no Console class, which @oclif/table constructs.
    const { Console } = await import('node:console');
    Object.assign(console, { Console });
    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (
      output.push(String(chunk)),
      true
    )) as typeof process.stdout.write;
    // Under CI=true the table renderer (ink, through @oclif/table) prints its final frame with console.log,
    // which vitest intercepts before it reaches process.stdout: capture that path too.
    const log = console.log;
    console.log = (...args: unknown[]) => void output.push(`${args.map(String).join(' ')}\n`);
    let error: (Error & { oclif?: { exit?: number } }) | undefined;
    try {
      await new LeadrankOrgCheck(['--target-org', USERNAME], config).run();
    } catch (e) {
      error = e as Error & { oclif?: { exit?: number } };
    } finally {
      process.stdout.write = write;
      console.log = log;
    }
    const text = output.join('');

    expect(text).toContain('package permission sets');
    expect(text).toContain(
      'missing Leadrank_User, Leadrank_Auditor, Leadrank_Integration, Leadrank_Data_Load',
    );
    expect(text).toContain('sf org assign permset --name Leadrank_Admin --on-behalf-of admin@acme.test');
    expect(error?.oclif?.exit).toBe(1);
    expect(error?.message).toMatch(/checks failed: apply the fixes above/);
  });

  it('sets up: parses the flags, assigns the admin permission set and reports the sidecar', async () => {
    const { Config } = await import('@oclif/core');
    const { default: LeadrankOrgSetup } = await import('../../sf-plugin/src/commands/leadrank/org/setup.js');
    const config = await Config.load(join(repoRoot, 'sf-plugin'));
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      const argv = [
        '--target-org',
        USERNAME,
        '--region',
        'US',
        '--sidecar-url',
        'http://127.0.0.1:9',
        '--skip-deploy',
        '--project-dir',
        repoRoot,
      ];
      const report = await new LeadrankOrgSetup(argv, config).run();

      expect(report.deployed).toBe(false);
      expect(report.components).toBeGreaterThan(100);
      expect(report.assignments).toEqual([
        { username: USERNAME, name: 'Leadrank_Admin', outcome: 'assigned' },
      ]);
      expect(report.sidecar.ok).toBe(false);
      await expect(
        new LeadrankOrgSetup(
          [...argv.slice(0, 2), '--region', 'APAC', '--sidecar-url', 'https://x.test'],
          config,
        ).run(),
      ).rejects.toThrow(/Expected --region=APAC to be one of: US, EU/);
    } finally {
      process.stdout.write = write;
    }
  });

  it('runs from the repository through its bin script', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'sf-plugin', 'bin', 'run.ts'), 'leadrank', 'org', 'setup', '--help'],
      { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(stdout).toContain('$ sf leadrank org setup -o <value> --region US|EU --sidecar-url <value>');
  }, 60_000);

  it('builds to lib/ and runs as the linked plugin would: the compiled commands through oclif Config.load', async () => {
    // `sf plugins link sf-plugin` loads a linked ESM plugin's compiled lib/ (oclif does not transpile it).
    // The sf CLI itself is not installed here (and installing it needs the network), so the host is oclif's own
    // Config with transpiling switched off, which reads exactly what sf would: package.json#oclif and lib/.
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { existsSync } = await import('node:fs');
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(
      process.execPath,
      [tsc, '-p', join(repoRoot, 'sf-plugin', 'tsconfig.build.json')],
      {
        cwd: repoRoot,
      },
    );
    expect(existsSync(join(repoRoot, 'sf-plugin', 'lib', 'commands', 'leadrank', 'org', 'check.js'))).toBe(
      true,
    );

    const { Config, Help, settings } = await import('@oclif/core');
    const before = settings.enableAutoTranspile;
    settings.enableAutoTranspile = false;
    const { Console } = await import('node:console');
    Object.assign(console, { Console });
    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (
      output.push(String(chunk)),
      true
    )) as typeof process.stdout.write;
    const log = console.log;
    console.log = (...args: unknown[]) => void output.push(`${args.map(String).join(' ')}\n`);
    let error: (Error & { oclif?: { exit?: number } }) | undefined;
    try {
      const config = await Config.load(join(repoRoot, 'sf-plugin'));
      expect(config.commandIDs.sort()).toEqual(['leadrank:org:check', 'leadrank:org:setup']);
      const found = config.findCommand('leadrank:org:check')!;
      const check = await found.load();
      expect(Object.keys(check.flags ?? {})).toEqual(
        expect.arrayContaining(['target-org', 'integration-client-id', 'integration-key-file']),
      );
      await new Help(config).showCommandHelp(found);
      try {
        await config.runCommand('leadrank:org:check', ['--target-org', USERNAME]);
      } catch (e) {
        error = e as Error & { oclif?: { exit?: number } };
      }
    } finally {
      process.stdout.write = write;
      console.log = log;
      settings.enableAutoTranspile = before;
    }
    const text = output.join('');
    expect(text).toContain('$ sf leadrank org check -o <value>');
    expect(text).toContain('--integration-client-id');
    // The check ran against the simulator (the table's frame is ink's, printed once per process: not re-read).
    expect(error?.message).toMatch(/^\d of 4 checks failed: apply the fixes above/);
    expect(error?.oclif?.exit).toBe(1);
  }, 120_000);
});
