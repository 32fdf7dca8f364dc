import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  apexModelInputFields,
  missingModelInputs,
  sidecarLeadProfileFields,
} from '../salesforce/model-inputs.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const service = join(repoRoot, 'force-app', 'main', 'default', 'classes', 'LeadScoringService.cls');
const cleanup: string[] = [];
afterAll(async () => Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true }))));

describe('the Apex payload and the sidecar features', () => {
  it('Apex sends every Lead field the sidecar features read', async () => {
    const { fields } = await sidecarLeadProfileFields();
    expect(fields).toEqual(expect.arrayContaining(['Email', 'Matched_Account__c', 'Data_Region__c']));
    expect(await missingModelInputs(service)).toEqual([]);
  });

  it('names the fields a payload without Email and Matched_Account__c would miss', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadrank-inputs-'));
    cleanup.push(dir);
    const stale = join(dir, 'LeadScoringService.cls');
    const source = await readFile(service, 'utf8');
    await writeFile(stale, source.replace("'Email',", '').replace("'Matched_Account__c',", ''));

    expect(apexModelInputFields(await readFile(stale, 'utf8'))).not.toContain('Email');
    expect(await missingModelInputs(stale)).toEqual(['Matched_Account__c', 'Email']);
  });
});
