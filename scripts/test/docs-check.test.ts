// The docs check (scripts/docs-check.ts) against the real command trees: the `leadrank` program as commander
// builds it (in process, no child process), the sf plugin's oclif commands with their flags, and package.json's
// scripts. A fixture proves it fails on each kind of breakage; then README.md and docs/*.md must have none.
// @salesforce/core reads ~/.sfdx when the plugin's commands are imported: HOME points at a temporary folder first.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addOclifCommand,
  checkMarkdownFile,
  commanderTree,
  githubSlug,
  repoPathExists,
  type DocsContext,
} from '../docs-check.js';

process.env.HOME = mkdtempSync(join(tmpdir(), 'leadrank-docs-home-'));
process.env.SF_DISABLE_TELEMETRY = 'true';
process.env.SF_AUTOUPDATE_DISABLE = 'true';

const root = join(import.meta.dirname, '..', '..');
const fixtures = join(import.meta.dirname, 'fixtures', 'docs');
let ctx: DocsContext;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

beforeAll(async () => {
  const { buildProgram } = await import('../../scoring-sidecar/src/cli.js');
  const sf = { name: 'sf', options: new Set<string>(), children: new Map() };
  const commandsDir = join(root, 'sf-plugin', 'src', 'commands');
  for (const file of filesUnder(commandsDir).filter((f) => f.endsWith('.ts'))) {
    const id = relative(commandsDir, file).replace(/\.ts$/, '').split(sep);
    const command = (await import(file)) as { default: { flags?: Record<string, unknown> } };
    addOclifCommand(sf, id, Object.keys(command.default.flags ?? {}));
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  ctx = {
    root,
    leadrank: commanderTree(buildProgram()),
    sf,
    npmScripts: new Set(Object.keys(pkg.scripts)),
  };
}, 60_000);

describe('the docs check', () => {
  it('makes GitHub anchors from headings', () => {
    expect(githubSlug('The end-to-end latency budget (p99)')).toBe('the-end-to-end-latency-budget-p99');
    expect(githubSlug('`leadrank serve` and [the API](api.md)')).toBe('leadrank-serve-and-the-api');
  });

  it('knows the real command trees', () => {
    expect([...ctx.leadrank.children.keys()]).toEqual(expect.arrayContaining(['serve', 'batch', 'audit']));
    expect(ctx.leadrank.children.get('batch')!.children.get('run')!.options.has('--region')).toBe(true);
    const org = ctx.sf.children.get('leadrank')!.children.get('org')!;
    expect([...org.children.keys()].sort()).toEqual(['check', 'setup']);
    expect(org.children.get('setup')!.options.has('--target-org')).toBe(true);
  });

  it('passes a page whose links, commands and paths all exist', () => {
    expect(checkMarkdownFile(join(fixtures, 'good.md'), ctx)).toEqual([]);
  });

  it('fails on each broken link, anchor, command, option, script and path, naming file and line', () => {
    const problems = checkMarkdownFile(join(fixtures, 'broken.md'), ctx);
    const at = 'scripts/test/fixtures/docs/broken.md';
    expect(problems).toEqual([
      `${at}:3: broken link missing.md (no scripts/test/fixtures/docs/missing.md)`,
      `${at}:3: broken anchor sub/other.md#nowhere (no heading #nowhere in scripts/test/fixtures/docs/sub/other.md)`,
      `${at}:3: broken anchor #not-here (no heading #not-here in scripts/test/fixtures/docs/broken.md)`,
      `${at}:6: unknown command \`leadrank frobnicate\``,
      `${at}:7: unknown option --regoin for \`leadrank batch run\``,
      `${at}:8: unknown npm script \`npm run no-such-script\``,
      `${at}:8: unknown npm script \`npm run nope\` in workspace sf-plugin`,
      `${at}:9: unknown command \`sf leadrank org destroy\``,
      `${at}:10: no Python module leadrank_training.no_such_module`,
      `${at}:13: no such file bench/no-such-bench.ts`,
      `${at}:13: no such file test/no-such.test.ts`,
    ]);
  });

  it('finds nothing broken in README.md and docs/*.md', () => {
    const docs = [
      join(root, 'README.md'),
      ...readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => join(root, 'docs', f)),
    ];
    expect(docs.flatMap((file) => checkMarkdownFile(file, ctx))).toEqual([]);
  });
});

describe('docs/design.md', () => {
  const text = readFileSync(join(root, 'docs', 'design.md'), 'utf8');
  const failureModes = text.slice(text.indexOf('## Failure modes'));
  const rows = failureModes
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| Failure '))
    .map((l) => l.split('|').map((cell) => cell.trim()));

  it('has a failure-mode row for every failure the design must answer', () => {
    const named = rows.map((cells) => cells[1]!);
    const required = [
      ...[
        'Org outage',
        'API allocation exhausted',
        'Bulk job fails',
        'Redis lost',
        'A region down',
        'A bad deploy',
      ],
      ...[
        'Feature drift',
        'Calibration decay',
        'A bad model promoted',
        'Training-serving skew',
        'Feedback loop',
      ],
      'A no-signal client',
      ...['Reps ignore the list', 'Gaming', 'Score distrust', 'Manager override', 'Alert fatigue'],
      ...['PII leak', 'Residency breach', 'Erasure request', 'Audit tampering'],
    ];
    for (const failure of required)
      expect(
        named.some((n) => n.startsWith(failure)),
        failure,
      ).toBe(true);
  });

  it('names, in every failure-mode row, a test or bench that exists', () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    for (const cells of rows) {
      const proof = cells[cells.length - 2]!;
      const paths = [...proof.matchAll(/`([^`]+\.(?:ts|py|cls))`/g)].map((m) => m[1]!);
      expect(paths.length, cells[1]).toBeGreaterThan(0);
      for (const path of paths) expect(repoPathExists(root, path), `${cells[1]}: ${path}`).toBe(true);
    }
  });

  it('names only test and bench files that exist, anywhere on the page', () => {
    const mentioned = [
      ...text.matchAll(/(?:^|[\s`(])((?:[\w-]+\/)*(?:test|tests|bench)\/[\w./-]+\.(?:ts|py|cls))/g),
    ].map((m) => m[1]!);
    expect(mentioned.length).toBeGreaterThan(30);
    expect(mentioned.filter((path) => !repoPathExists(root, path))).toEqual([]);
  });
});
