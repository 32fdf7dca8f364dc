import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const workflowPath = join(import.meta.dirname, '..', '..', '.github', 'workflows', 'ci.yml');

interface Step {
  name?: string;
  run?: string;
  if?: string;
}
interface Workflow {
  jobs: Record<string, { needs?: string; if?: string; steps: Step[] }>;
}

describe('the org CI workflow', () => {
  it('runs the scratch-org job only with a Dev Hub secret and says so when skipped', async () => {
    const workflow = parse(await readFile(workflowPath, 'utf8')) as Workflow;
    const gate = workflow.jobs['dev-hub']?.steps[0]?.run ?? '';
    const org = workflow.jobs['scratch-org-test'];

    expect(gate).toContain('if [ -n "$DEVHUB_SFDX_URL" ]');
    expect(gate).toMatch(/::notice title=Salesforce org CI skipped::/);
    expect(org?.needs).toBe('dev-hub');
    expect(org?.if).toBe("needs.dev-hub.outputs.available == 'true'");
  });

  it('creates a scratch org, deploys, runs the Apex tests, requires 85 % coverage and runs jest', async () => {
    const workflow = parse(await readFile(workflowPath, 'utf8')) as Workflow;
    const runs = (workflow.jobs['scratch-org-test']?.steps ?? []).map((s) => s.run ?? '').join('\n');

    const order = [
      'sf org create scratch --definition-file config/project-scratch-def.json',
      'sf project deploy start --source-dir force-app',
      'sf apex run test --code-coverage',
      'pct >= 85',
      'npx sfdx-lwc-jest',
      'sf org delete scratch',
    ].map((command) => runs.indexOf(command));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});
