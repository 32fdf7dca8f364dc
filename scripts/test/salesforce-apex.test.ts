import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apexSourceFiles, checkApexSyntax, formatSyntaxError, parseApex } from '../salesforce/apex-syntax.js';
import { checkReferences, isTestClass, loadPackageModel } from '../salesforce/references.js';

const repoRoot = join(import.meta.dirname, '..', '..');
const defaultDir = join(repoRoot, 'force-app', 'main', 'default');
const configFiles = [
  join(repoRoot, 'config', 'rules', 'default.json'),
  join(repoRoot, 'config', 'actions', 'catalogue.json'),
];
const cleanup: string[] = [];
afterAll(async () => Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true }))));

async function packageCopy(): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'leadrank-pkg-'));
  cleanup.push(copy);
  await cp(defaultDir, copy, { recursive: true });
  return copy;
}

describe('Apex source', () => {
  it('parses every class and trigger', async () => {
    const files = await apexSourceFiles(join(repoRoot, 'force-app'));
    expect(files.some((f) => f.endsWith('LeadTrigger.trigger'))).toBe(true);
    expect(files.filter((f) => f.endsWith('.cls')).length).toBeGreaterThanOrEqual(20);
    expect((await checkApexSyntax(join(repoRoot, 'force-app'))).map(formatSyntaxError)).toEqual([]);
  });

  it('reports a syntax error as file:line:column', async () => {
    const copy = await packageCopy();
    const file = join(copy, 'classes', 'SidecarClient.cls');
    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replace('request.setMethod(method);', 'request.setMethod(method)'));

    const errors = (await checkApexSyntax(copy)).map(formatSyntaxError);

    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/SidecarClient\.cls:\d+:\d+: /);
    expect(parseApex('trigger T on Lead (after insert) { }', 'trigger')).toEqual([]);
  });

  it('tells test classes from the classes they test', async () => {
    const model = await loadPackageModel(defaultDir);
    expect(isTestClass(model.apexClasses.get('LeadRulesScorerTest') ?? '')).toBe(true);
    expect(isTestClass(model.apexClasses.get('LeadRulesScorer') ?? '')).toBe(false);
  });
});

describe('names the package refers to', () => {
  it('all exist, every class has a test that references it and every test asserts', async () => {
    const problems = await checkReferences(defaultDir, configFiles);
    expect(problems.map((p) => `${p.file}: ${p.message}`)).toEqual([]);
  });

  it('catches a misspelt field in Apex, in an LWC schema import and in a report', async () => {
    const copy = await packageCopy();
    const service = join(copy, 'classes', 'LeadScoreWriter.cls');
    await writeFile(
      service,
      (await readFile(service, 'utf8')).replace('Scored_At__c = scoredAt', 'Scored_On__c = scoredAt'),
    );
    const card = join(copy, 'lwc', 'leadScoreCard', 'leadScoreCard.js');
    await writeFile(card, (await readFile(card, 'utf8')).replace('Lead.Score_Band__c', 'Lead.Score_Bnad__c'));
    const report = join(copy, 'reports', 'Leadrank', 'Stale_Scores.report-meta.xml');
    await writeFile(
      report,
      (await readFile(report, 'utf8')).replace('Lead$Score_Is_Stale__c', 'Lead$Is_Stale__c'),
    );

    const messages = (await checkReferences(copy, configFiles)).map((p) => `${p.file}: ${p.message}`);

    expect(messages).toEqual(
      expect.arrayContaining([
        'classes/LeadScoreWriter.cls: Scored_On__c is neither a custom object nor a custom field in force-app',
        'lwc/leadScoreCard/leadScoreCard.js: unknown field Lead.Score_Bnad__c',
        'reports/Leadrank/Stale_Scores.report-meta.xml: unknown field Lead.Is_Stale__c',
      ]),
    );
  });

  it('catches an untested class, a test without assertions and a missing Apex method', async () => {
    const copy = await packageCopy();
    await writeFile(join(copy, 'classes', 'Orphan.cls'), 'public with sharing class Orphan { }');
    const test = join(copy, 'classes', 'ScoreHistoryControllerTest.cls');
    await writeFile(test, (await readFile(test, 'utf8')).replace(/Assert\.\w+\([^;]*\);/g, ''));
    const list = join(copy, 'lwc', 'rankedLeadList', 'rankedLeadList.js');
    await writeFile(
      list,
      (await readFile(list, 'utf8')).replace(
        'WorklistController.getRulesWorklist',
        'WorklistController.getRules',
      ),
    );

    const messages = (await checkReferences(copy, configFiles)).map((p) => `${p.file}: ${p.message}`);

    expect(messages).toEqual(
      expect.arrayContaining([
        'classes/Orphan.cls: no test class references Orphan',
        'classes/ScoreHistoryControllerTest.cls: test class has no assertion',
        'lwc/rankedLeadList/rankedLeadList.js: WorklistController.getRules is not an @AuraEnabled static method',
      ]),
    );
  });

  it('catches a permission set missing field-level security and a rule on an unknown field', async () => {
    const copy = await packageCopy();
    const permissionSet = join(copy, 'permissionsets', 'Leadrank_User.permissionset-meta.xml');
    const text = await readFile(permissionSet, 'utf8');
    await writeFile(
      permissionSet,
      text.replace(
        /<fieldPermissions>\s*<editable>false<\/editable>\s*<field>Lead\.Web_Visits__c<\/field>\s*<readable>true<\/readable>\s*<\/fieldPermissions>/,
        '',
      ),
    );
    const rules = join(copy, 'rules.json');
    await writeFile(
      rules,
      JSON.stringify({ rules: [{ field: 'Web_Visitz__c' }, { field: 'DaysSinceCreated' }] }),
    );

    const messages = (await checkReferences(copy, [rules])).map((p) => p.message);

    expect(messages).toEqual(
      expect.arrayContaining([
        'no field-level security for Lead.Web_Visits__c',
        'Web_Visitz__c is not a Lead field or pseudo-field',
      ]),
    );
    expect(messages).not.toContain('DaysSinceCreated is not a Lead field or pseudo-field');
  });

  it('catches OR across two columns in SOQL on a Custom Metadata type (the old logAction query)', async () => {
    const copy = await packageCopy();
    const controller = join(copy, 'classes', 'NextBestActionController.cls');
    await writeFile(
      controller,
      (await readFile(controller, 'utf8')).replace(
        'Next_Best_Action__mdt definition = definitionFor(action);',
        `List<Next_Best_Action__mdt> found = [
            SELECT Action__c, MasterLabel, Task_Subject__c
            FROM Next_Best_Action__mdt
            WHERE Action__c = :action OR MasterLabel = :action
            LIMIT 1
        ];
        Next_Best_Action__mdt definition = found.isEmpty() ? null : found[0];`,
      ),
    );
    const rules = join(copy, 'classes', 'OneColumn.cls');
    await writeFile(
      rules,
      "public with sharing class OneColumn { static Object q() { return [SELECT Id FROM Scoring_Rule__mdt WHERE Field__c = 'A' OR Field__c = 'B']; } }",
    );

    const messages = (await checkReferences(copy, configFiles)).map((p) => `${p.file}: ${p.message}`);

    expect(messages.filter((m) => m.includes('OR across columns'))).toEqual([
      'classes/NextBestActionController.cls: line 9: OR across columns (action__c, masterlabel) in SOQL on Next_Best_Action__mdt, which Salesforce rejects for Custom Metadata types',
    ]);
  });

  it('catches an unknown Custom Label in an LWC or Apex, and an unknown component on a Lightning page', async () => {
    const copy = await packageCopy();
    const labels = join(copy, 'lwc', 'leadrankLabels', 'leadrankLabels.js');
    await writeFile(
      labels,
      (await readFile(labels, 'utf8')).replace('c.Leadrank_Why_High', 'c.Leadrank_Why_Hihg'),
    );
    const guard = join(copy, 'classes', 'ScoreHistoryGuard.cls');
    await writeFile(
      guard,
      (await readFile(guard, 'utf8')).replace(
        'System.Label.Leadrank_History_Delete_Refused',
        'System.Label.Leadrank_History_Delete_Refsued',
      ),
    );
    const page = join(copy, 'flexipages', 'Leadrank_Worklist.flexipage-meta.xml');
    await writeFile(page, (await readFile(page, 'utf8')).replace('>rankedLeadList<', '>rankedLeads<'));

    const messages = (await checkReferences(copy, configFiles)).map((p) => `${p.file}: ${p.message}`);

    expect(messages).toEqual(
      expect.arrayContaining([
        'lwc/leadrankLabels/leadrankLabels.js: unknown Custom Label Leadrank_Why_Hihg',
        'classes/ScoreHistoryGuard.cls: unknown Custom Label Leadrank_History_Delete_Refsued',
        'flexipages/Leadrank_Worklist.flexipage-meta.xml: unknown Lightning web component rankedLeads',
      ]),
    );
  });

  it('catches a rate report that charts the row count instead of its rate formula', async () => {
    const copy = await packageCopy();
    const report = join(copy, 'reports', 'Leadrank', 'Conversion_Rate_By_Band.report-meta.xml');
    await writeFile(
      report,
      (await readFile(report, 'utf8')).replace('<column>FORMULA1</column>', '<column>RowCount</column>'),
    );

    const messages = (await checkReferences(copy, configFiles)).map((p) => `${p.file}: ${p.message}`);

    expect(messages).toContain(
      'reports/Leadrank/Conversion_Rate_By_Band.report-meta.xml: a rate report charts RowCount, not its rate formula',
    );
  });
});
