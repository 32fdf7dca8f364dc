// The offline Apex gates (issue 16): PMD 7 with the Code Analyzer's Recommended Apex rules against a
// committed baseline, apex-ls semantic checks, and prettier (prettier-plugin-apex, @prettier/plugin-xml)
// on every Apex and metadata file. Java and Maven are needed once, to fetch the tools (var/apex-tools).
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, resolveConfig } from 'prettier';
import { afterAll, describe, expect, it } from 'vitest';
import {
  baselinePath,
  compareWithBaseline,
  repoRoot,
  runApexLs,
  runPmd,
  type Baseline,
} from '../salesforce/apex-tools.js';

const forceApp = join(repoRoot, 'force-app');
const cleanup: string[] = [];
afterAll(async () => Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true }))));
const JAVA_TIMEOUT = 240_000;

async function tempProject(classes: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leadrank-gate-'));
  cleanup.push(dir);
  await writeFile(
    join(dir, 'sfdx-project.json'),
    JSON.stringify({ packageDirectories: [{ path: 'force-app', default: true }], sourceApiVersion: '62.0' }),
  );
  const classDir = join(dir, 'force-app', 'main', 'default', 'classes');
  await mkdir(classDir, { recursive: true });
  for (const [name, source] of Object.entries(classes)) {
    await writeFile(join(classDir, `${name}.cls`), source);
    await writeFile(
      join(classDir, `${name}.cls-meta.xml`),
      '<?xml version="1.0" encoding="UTF-8" ?>\n<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">\n    <apiVersion>62.0</apiVersion>\n    <status>Active</status>\n</ApexClass>\n',
    );
  }
  return dir;
}

describe('PMD with the Code Analyzer Recommended Apex rules', () => {
  it(
    'finds nothing at severity 1–2 in force-app, and nothing outside the reasoned baseline',
    { timeout: JAVA_TIMEOUT },
    async () => {
      const baseline = JSON.parse(await readFile(baselinePath, 'utf8')) as Baseline;
      const findings = await runPmd(forceApp);

      expect(findings.filter((f) => f.severity <= 2)).toEqual([]);
      expect(compareWithBaseline(findings, baseline)).toEqual([]);
      expect(Object.values(baseline.rules).every((r) => r.reason.length > 20)).toBe(true);
    },
  );

  it(
    'fails a class that reads records without a CRUD check (severity 2), whatever the baseline',
    { timeout: JAVA_TIMEOUT },
    async () => {
      const dir = await tempProject({
        Leaky:
          'public with sharing class Leaky {\n    public static List<Lead> all() {\n        return [SELECT Id FROM Lead];\n    }\n}\n',
      });
      const findings = await runPmd(join(dir, 'force-app'));
      const everything: Baseline = {
        rules: {
          ApexCRUDViolation: { reason: 'tries to hide it', files: { 'main/default/classes/Leaky.cls': 1 } },
        },
      };

      expect(findings.map((f) => `${f.rule}:${f.severity}`)).toContain('ApexCRUDViolation:2');
      expect(compareWithBaseline(findings, everything)).toContainEqual(
        expect.stringMatching(/^main\/default\/classes\/Leaky\.cls:3: ApexCRUDViolation \(severity 2\)/),
      );
    },
  );

  it('reports a baseline entry without a reason and a stale count', () => {
    const findings = [{ file: 'a.cls', line: 1, rule: 'ApexDoc', severity: 4, message: 'doc' }];
    const baseline: Baseline = {
      rules: {
        ApexDoc: { reason: '', files: { 'a.cls': 1 } },
        AvoidDebugStatements: { reason: 'x', files: { 'b.cls': 2 } },
      },
    };
    expect(compareWithBaseline(findings, baseline)).toEqual([
      'baseline: ApexDoc has no reason',
      'baseline: AvoidDebugStatements in b.cls allows 2, now 0: lower it',
    ]);
  });
});

describe('apex-ls semantic checks', () => {
  it('finds no error or warning in the project', { timeout: JAVA_TIMEOUT }, async () => {
    expect(await runApexLs(repoRoot)).toEqual([]);
  });

  it(
    'catches an unknown method on a field that a local variable shadows (a bug it found here)',
    { timeout: JAVA_TIMEOUT },
    async () => {
      const dir = await tempProject({
        Shadowed:
          'public with sharing class Shadowed {\n    public static Integer length(Lead lead) {\n        return Lead.Company.getDescribe().getLength();\n    }\n}\n',
      });
      const issues = await runApexLs(dir);
      expect(issues.map((i) => `${i.file}:${i.line}: ${i.message}`)).toEqual([
        "force-app/main/default/classes/Shadowed.cls:3: No matching method found for 'getDescribe' on 'System.String' taking no arguments",
      ]);
    },
  );
});

describe('prettier on force-app (prettier-plugin-apex, @prettier/plugin-xml)', () => {
  it('every Apex class, trigger and metadata XML file is formatted', async () => {
    const files = (await readdir(forceApp, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile() && /\.(cls|trigger|xml)$/.test(e.name))
      .map((e) => join(e.parentPath, e.name));
    expect(files.length).toBeGreaterThan(150);
    const unformatted: string[] = [];
    for (const file of files) {
      const options = await resolveConfig(file);
      if (!(await check(await readFile(file, 'utf8'), { ...options, filepath: file })))
        unformatted.push(file);
    }
    expect(unformatted).toEqual([]);
  });

  it('flags Apex that is not formatted', async () => {
    const file = join(forceApp, 'main', 'default', 'classes', 'Probe.cls');
    const options = await resolveConfig(file);
    expect(
      await check('public class Probe{public void a(){Integer x=1;}}\n', { ...options, filepath: file }),
    ).toBe(false);
  });
});
