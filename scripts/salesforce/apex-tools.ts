// The offline Apex gates' Java tools: PMD 7 with the Code Analyzer's Recommended Apex rules, and apex-ls
// (semantic checks against the platform's types and the project's metadata). Both come from Maven
// Central, fetched once by Maven into var/apex-tools/ (git-ignored) and reused; no other download.
import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = join(import.meta.dirname, '..', '..');
const toolsDir = join(repoRoot, 'var', 'apex-tools');
const TOOLS = {
  pmd: {
    pom: join(import.meta.dirname, 'pmd', 'pom.xml'),
    lib: join(toolsDir, 'pmd-lib'),
    jar: /^pmd-apex-7\./,
  },
  'apex-ls': {
    pom: join(import.meta.dirname, 'apex-ls', 'pom.xml'),
    lib: join(toolsDir, 'apex-ls-lib'),
    jar: /^apex-ls_2\.13-/,
  },
} as const;
type Tool = keyof typeof TOOLS;

async function has(command: string, args: string[]): Promise<boolean> {
  return run(command, args).then(
    () => true,
    () => false,
  );
}

/** The tool's jar folder, fetched with Maven on first use; a clear error when Java or Maven is missing. */
export async function ensureTool(tool: Tool): Promise<string> {
  const { pom, lib, jar } = TOOLS[tool];
  const present = await readdir(lib).then(
    (names) => names.some((n) => jar.test(n)),
    () => false,
  );
  if (present) return lib;
  if (!(await has('java', ['-version'])))
    throw new Error(`${tool} needs Java 17 or later on PATH (java not found); install a JDK, then rerun.`);
  if (!(await has('mvn', ['-v'])))
    throw new Error(
      `${tool} is fetched from Maven Central with Maven (mvn not found); install Maven, then rerun.`,
    );
  await mkdir(lib, { recursive: true });
  await run('mvn', ['-q', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return lib;
}

export interface PmdFinding {
  file: string;
  line: number;
  rule: string;
  severity: number;
  message: string;
}

const rulesetPath = join(import.meta.dirname, 'pmd', 'code-analyzer-recommended.xml');
const severitiesPath = join(import.meta.dirname, 'pmd', 'code-analyzer-severities.json');
export const baselinePath = join(import.meta.dirname, 'pmd', 'baseline.json');

/** PMD over `sourceDir`; files are reported relative to it. Severity is the Code Analyzer's (1–5). */
export async function runPmd(sourceDir: string): Promise<PmdFinding[]> {
  const lib = await ensureTool('pmd');
  const { severities } = JSON.parse(await readFile(severitiesPath, 'utf8')) as {
    severities: Record<string, number>;
  };
  // Exit code 4 means "violations found": the report is what matters, so read it either way.
  const result = await run(
    'java',
    [
      '-cp',
      `${lib}/*`,
      'net.sourceforge.pmd.cli.PmdCli',
      'check',
      '-d',
      sourceDir,
      '-R',
      rulesetPath,
      '-f',
      'json',
      '--no-progress',
      '--no-cache',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
    if (error.code === 4 && error.stdout) return { stdout: error.stdout };
    throw new Error(`PMD failed (exit ${error.code}): ${error.stderr ?? ''}`);
  });
  const report = JSON.parse(result.stdout) as {
    files: { filename: string; violations: { beginline: number; rule: string; description: string }[] }[];
    processingErrors: { filename: string; message: string }[];
  };
  if (report.processingErrors.length > 0) {
    throw new Error(
      `PMD could not process ${report.processingErrors.map((e) => `${e.filename}: ${e.message}`).join('; ')}`,
    );
  }
  return report.files.flatMap((f) =>
    f.violations.map((v) => ({
      file: relative(sourceDir, f.filename),
      line: v.beginline,
      rule: v.rule,
      severity: severities[v.rule] ?? 3,
      message: v.description,
    })),
  );
}

export interface Baseline {
  rules: Record<string, { reason: string; files: Record<string, number> }>;
}

/**
 * Gate: no finding at severity 1–2; every other finding counted in the baseline, whose every rule gives
 * a reason; a baseline count above the actual one is stale (the baseline only shrinks).
 */
export function compareWithBaseline(findings: PmdFinding[], baseline: Baseline): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const f of findings) {
    if (f.severity <= 2)
      problems.push(`${f.file}:${f.line}: ${f.rule} (severity ${f.severity}): ${f.message}`);
    else counts.set(`${f.rule}\t${f.file}`, (counts.get(`${f.rule}\t${f.file}`) ?? 0) + 1);
  }
  for (const [key, count] of counts) {
    const [rule = '', file = ''] = key.split('\t');
    const allowed = baseline.rules[rule]?.files[file] ?? 0;
    if (count > allowed) {
      const lines = findings.filter((f) => f.rule === rule && f.file === file).map((f) => f.line);
      problems.push(
        `${file}: ${rule} ${count} findings (lines ${lines.join(', ')}), baseline allows ${allowed}`,
      );
    }
  }
  for (const [rule, entry] of Object.entries(baseline.rules)) {
    if (!entry.reason?.trim()) problems.push(`baseline: ${rule} has no reason`);
    for (const [file, allowed] of Object.entries(entry.files)) {
      const count = counts.get(`${rule}\t${file}`) ?? 0;
      if (count < allowed)
        problems.push(`baseline: ${rule} in ${file} allows ${allowed}, now ${count}: lower it`);
    }
  }
  return problems;
}

/** A baseline holding exactly these findings (severity 3+), keeping the reasons already written. */
export function baselineFor(findings: PmdFinding[], previous: Baseline): Baseline {
  const rules: Baseline['rules'] = {};
  for (const f of findings.filter((x) => x.severity > 2).sort((a, b) => a.file.localeCompare(b.file))) {
    const entry = (rules[f.rule] ??= { reason: previous.rules[f.rule]?.reason ?? '', files: {} });
    entry.files[f.file] = (entry.files[f.file] ?? 0) + 1;
  }
  return { rules: Object.fromEntries(Object.entries(rules).sort(([a], [b]) => a.localeCompare(b))) };
}

export interface ApexLsIssue {
  file: string;
  line: number;
  category: string;
  message: string;
}

/** apex-ls over an SFDX workspace (a folder with sfdx-project.json): errors and warnings. */
export async function runApexLs(workspace: string): Promise<ApexLsIssue[]> {
  const lib = await ensureTool('apex-ls');
  await access(join(workspace, 'sfdx-project.json'));
  // Exit code 4 means "issues found"; the JSON report lists them.
  const result = await run(
    'java',
    [
      '-cp',
      `${lib}/*`,
      'io.github.apexdevtools.apexls.CheckForIssues',
      '-w',
      workspace,
      '-f',
      'json',
      '-d',
      'warnings',
      '-n',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
    if (error.code === 4 && error.stdout) return { stdout: error.stdout };
    throw new Error(`apex-ls failed (exit ${error.code}): ${error.stderr ?? ''}`);
  });
  const report = JSON.parse(result.stdout || '{"files":[]}') as {
    files: { path: string; messages: { start: { line: number }; category: string; message: string }[] }[];
  };
  return report.files.flatMap((f) =>
    f.messages.map((m) => ({
      file: relative(workspace, f.path),
      line: m.start.line,
      category: m.category,
      message: m.message,
    })),
  );
}

async function main(): Promise<void> {
  const findings = await runPmd(join(repoRoot, 'force-app'));
  if (process.argv.includes('--write-baseline')) {
    const { writeFile } = await import('node:fs/promises');
    const previous = JSON.parse(await readFile(baselinePath, 'utf8').catch(() => '{"rules":{}}')) as Baseline;
    await writeFile(baselinePath, `${JSON.stringify(baselineFor(findings, previous), null, 2)}\n`);
  }
  const baseline = JSON.parse(await readFile(baselinePath, 'utf8')) as Baseline;
  const problems = compareWithBaseline(findings, baseline);
  for (const p of problems) console.error(p);
  console.log(`PMD: ${findings.length} findings, ${problems.length} problems against the baseline`);
  if (problems.length > 0) process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
