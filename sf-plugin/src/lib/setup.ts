// `sf leadrank org setup`, step by step; the command class only parses flags and reports progress.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '@salesforce/core';
import {
  assign,
  integrationAppCheck,
  sidecarReadiness,
  type IntegrationAppLogin,
  type OrgApi,
  ADMIN_PERMISSION_SET,
  INTEGRATION_PERMISSION_SET,
  REP_GROUP,
  type AssignOutcome,
  type CheckItem,
} from './org-steps.js';
import { componentsOf, convertForDeploy, preparedSource, type Region } from './package-source.js';
import { rulesDrift } from './rules-check.js';

export interface SetupOptions {
  projectDir: string;
  region: Region;
  sidecarUrl: string;
  adminUsername: string;
  integrationUsername?: string;
  repUsernames?: string[];
  /** The package is installed already (AppExchange or a 2GP version): skip the source deploy. */
  skipDeploy?: boolean;
  /** Check the integration user's JWT bearer login through the Leadrank_Sidecar app (with integrationUsername). */
  integrationApp?: Omit<IntegrationAppLogin, 'username'>;
}

export interface SetupReport {
  components: number;
  deployed: boolean;
  assignments: { username: string; name: string; outcome: AssignOutcome }[];
  sidecar: CheckItem;
  /** The integration user's login through the app; null when not asked for (no key given). */
  integrationApp: CheckItem | null;
}

export interface Progress {
  step(message: string): void;
  done(detail?: string): void;
}

export async function setupOrg(
  conn: OrgApi,
  options: SetupOptions,
  progress: Progress,
  deploy: (sourceDir: string) => Promise<void>,
): Promise<SetupReport> {
  const forceApp = join(options.projectDir, 'force-app');
  progress.step('Checking the scoring rules against config/rules');
  const drift = await rulesDrift(forceApp, join(options.projectDir, 'config', 'rules', 'default.json'));
  if (drift.length > 0) {
    throw new Error(
      `The Scoring_Rule records differ from config/rules (run npx tsx scripts/salesforce/sync-rules.ts):\n  ${drift.join('\n  ')}`,
    );
  }
  progress.done();

  progress.step(`Preparing the package with the ${options.region} Named Credential at ${options.sidecarUrl}`);
  const source = await preparedSource(forceApp, options.region, options.sidecarUrl);
  const converted = await mkdtemp(join(tmpdir(), 'leadrank-mdapi-'));
  let components: number;
  try {
    components = await convertForDeploy(source, converted);
  } finally {
    await rm(converted, { recursive: true, force: true });
  }
  progress.done(`${components} components`);

  let deployed = false;
  if (!options.skipDeploy) {
    progress.step('Deploying the package');
    await deploy(source);
    deployed = true;
    progress.done();
  }
  await rm(join(source, '..'), { recursive: true, force: true });

  progress.step('Assigning permission sets');
  const wanted: { username: string; name: string; kind: 'permission set' | 'group' }[] = [
    { username: options.adminUsername, name: ADMIN_PERMISSION_SET, kind: 'permission set' },
    ...(options.integrationUsername
      ? [
          {
            username: options.integrationUsername,
            name: INTEGRATION_PERMISSION_SET,
            kind: 'permission set' as const,
          },
        ]
      : []),
    ...(options.repUsernames ?? []).map((username) => ({
      username,
      name: REP_GROUP,
      kind: 'group' as const,
    })),
  ];
  const assignments: SetupReport['assignments'] = [];
  for (const w of wanted)
    assignments.push({
      username: w.username,
      name: w.name,
      outcome: await assign(conn, w.username, w.name, w.kind),
    });
  progress.done(`${assignments.filter((a) => a.outcome === 'assigned').length} new`);

  let integrationApp: CheckItem | null = null;
  if (options.integrationApp && options.integrationUsername) {
    progress.step('Checking the integration user logs in through the Leadrank_Sidecar app');
    integrationApp = await integrationAppCheck({
      ...options.integrationApp,
      username: options.integrationUsername,
    });
    progress.done(integrationApp.detail);
  }

  progress.step('Checking the sidecar');
  const sidecar = await sidecarReadiness(options.sidecarUrl);
  progress.done(sidecar.detail);
  return { components, deployed, assignments, sidecar, integrationApp };
}

/** Metadata API deploy of the prepared source (needs a real org; the simulator has no Metadata API). */
export async function deployComponents(conn: Connection, sourceDir: string): Promise<void> {
  const deploy = await componentsOf(sourceDir).deploy({ usernameOrConnection: conn });
  // Every 2 s, for up to 30 min (a first deploy with Apex tests in a big org takes minutes).
  const result = await deploy.pollStatus(2000, 1800);
  if (!result.response.success) {
    const failures = result.getFileResponses().filter((f) => f.state === 'Failed');
    throw new Error(
      `Deploy failed:\n  ${failures.map((f) => `${f.filePath ?? f.fullName}:${'lineNumber' in f ? f.lineNumber : ''} ${'error' in f ? f.error : ''}`).join('\n  ')}`,
    );
  }
}
