import { readFile } from 'node:fs/promises';
import { Flags, SfCommand } from '@salesforce/sf-plugins-core';
import { checkOrg, type CheckItem, type OrgApi } from '../../../lib/org-steps.js';

export default class LeadrankOrgCheck extends SfCommand<CheckItem[]> {
  public static override readonly summary = 'Report what Leadrank is missing in an org, each with its fix.';
  public static override readonly examples = [
    '<%= config.bin %> <%= command.id %> --target-org acme --sidecar-url https://leadrank-eu.acme.com',
  ];

  public static override readonly flags = {
    'target-org': Flags.requiredOrg(),
    'sidecar-url': Flags.url({ summary: 'The region sidecar base URL, to check it answers.' }),
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
  };

  public async run(): Promise<CheckItem[]> {
    const { flags } = await this.parse(LeadrankOrgCheck);
    const org = flags['target-org'];
    const conn = org.getConnection();
    const keyFile = flags['integration-key-file'];
    const clientId = flags['integration-client-id'];
    const items = await checkOrg(conn as unknown as OrgApi, {
      adminUsername: org.getUsername() ?? '',
      integrationUsername: flags['integration-username'],
      sidecarUrl: flags['sidecar-url']?.toString(),
      ...(clientId && keyFile
        ? {
            integrationApp: {
              clientId,
              privateKeyPem: await readFile(keyFile, 'utf8'),
              loginUrl: conn.getAuthInfoFields().loginUrl ?? conn.instanceUrl,
            },
          }
        : {}),
    });
    this.table({
      data: items.map((i) => ({
        check: i.check,
        status: i.ok ? 'ok' : 'MISSING',
        detail: i.detail,
        fix: i.fix ?? '',
      })),
    });
    const missing = items.filter((i) => !i.ok).length;
    if (missing > 0) {
      this.error(`${missing} of ${items.length} checks failed: apply the fixes above.`, { exit: 1 });
    }
    return items;
  }
}
