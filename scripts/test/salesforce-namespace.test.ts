import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSalesforceConfig, salesforceConfig } from '../../scoring-sidecar/src/config/salesforce.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const cleanup: string[] = [];
afterAll(async () => Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true }))));

describe('the package namespace, set in one place', () => {
  it('config/salesforce.json and sfdx-project.json name the same namespace', async () => {
    const project = JSON.parse(await readFile(join(repoRoot, 'sfdx-project.json'), 'utf8')) as {
      namespace: string;
    };
    expect(loadSalesforceConfig(join(repoRoot, 'config', 'salesforce.json')).namespace).toBe(
      project.namespace,
    );
  });

  it('prefixes the package custom names only', () => {
    const { qualify } = salesforceConfig('lrk');
    expect(qualify('Lead_Score__c')).toBe('lrk__Lead_Score__c');
    expect(qualify('Score_History__c')).toBe('lrk__Score_History__c');
    expect(qualify('Lead_Score_Changed__e')).toBe('lrk__Lead_Score_Changed__e');
    expect(qualify('Email')).toBe('Email');
    expect(qualify('other__Field__c')).toBe('other__Field__c');
    expect(salesforceConfig('').qualify('Lead_Score__c')).toBe('Lead_Score__c');
  });

  it('names the file and the field of a bad namespace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadrank-ns-'));
    cleanup.push(dir);
    const file = join(dir, 'salesforce.json');
    await writeFile(file, JSON.stringify({ namespace: '9bad-name' }));
    expect(() => loadSalesforceConfig(file)).toThrow(
      `${file}: namespace must be empty or 1-15 letters and digits`,
    );
  });
});
