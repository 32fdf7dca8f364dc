import { readFile } from 'node:fs/promises';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import type { OrgApi } from '../../../lib/org-steps.js';
import { deployComponents, setupOrg, type SetupReport } from '../../../lib/setup.js';

export default class LeadrankOrgSetup extends SfCommand<SetupReport> {
  public static override readonly summary =
    'Install Leadrank in an org: deploy, permission sets, Named Credential, integration user, connection check.';
  public static override readonly description =
    'Checks the scoring rules against config/rules, points the region Named Credential at the sidecar, deploys force-app (unless --skip-deploy because the package is installed), assigns Leadrank Admin to you, Leadrank Integration to the sidecar user and the Leadrank Reps group to reps, then checks the sidecar answers.';
  public static override readonly examples = [
    '<%= config.bin %> <%= command.id %> --target-org acme --region EU --sidecar-url https://leadrank-eu.acme.com --integration-username leadrank@acme.com',
  ];

  public static override readonly flags = {
    'target-org': Flags.requiredOrg(),
    region: Flags.option({
      summary: 'Data region this org scores in.',
      options: ['US', 'EU'] as const,
      required: true,
    })(),
    'sidecar-url': Flags.url({ summary: 'The region sidecar base URL (https).', required: true }),
    'integration-username': Flags.string({ summary: 'The sidecar API-only integration user.' }),
    'integration-client-id': Flags.string({
      summary: "The Leadrank Sidecar app's consumer key, to check the integration user's JWT bearer login.",
      dependsOn: ['integration-username', 'integration-key-file'],
    }),
    'integration-key-file': Flags.file({
      summary: "The sidecar's private key (PEM) whose certificate is in the app.",
      exists: true,
      dependsOn: ['integration-client-id'],
    }),
    'rep-username': Flags.string({
      summary: 'A rep to give the Leadrank Reps group (repeatable).',
      multiple: true,
    }),
    'skip-deploy': Flags.boolean({ summary: 'The package is installed already: skip the source deploy.' }),
    'project-dir': Flags.directory({
      summary: 'The Leadrank project (force-app, config).',
      default: '.',
      exists: true,
    }),
  };

  public async run(): Promise<SetupReport> {
    const { flags } = await this.parse(LeadrankOrgSetup);
    const org = flags['target-org'];
    const conn = org.getConnection();
    const report = await setupOrg(
      conn as unknown as OrgApi,
      {
        projectDir: flags['project-dir'],
        region: flags.region,
        sidecarUrl: flags['sidecar-url'].toString(),
        adminUsername: org.getUsername() ?? '',
        integrationUsername: flags['integration-username'],
        repUsernames: flags['rep-username'],
        skipDeploy: flags['skip-deploy'],
        ...(flags['integration-client-id'] && flags['integration-key-file']
          ? {
              integrationApp: {
                clientId: flags['integration-client-id'],
                privateKeyPem: await readFile(flags['integration-key-file'], 'utf8'),
                loginUrl: conn.getAuthInfoFields().loginUrl ?? conn.instanceUrl,
              },
            }
          : {}),
      },
      { step: (m) => this.spinner.start(m), done: (d) => this.spinner.stop(d ?? 'done') },
      (sourceDir) => deployComponents(conn, sourceDir),
    );
    for (const a of report.assignments) this.log(`${a.name} → ${a.username}: ${a.outcome}`);
    if (report.integrationApp && !report.integrationApp.ok)
      this.warn(
        `${report.integrationApp.check}: ${report.integrationApp.detail}. ${report.integrationApp.fix ?? ''}`,
      );
    if (!report.sidecar.ok)
      this.warn(`${report.sidecar.check}: ${report.sidecar.detail}. ${report.sidecar.fix ?? ''}`);
    return report;
  }
}
