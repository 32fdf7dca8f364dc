// The docs check run by `npm test` (scripts/test/docs-check.test.ts): in README.md and docs/*.md, every relative
// link and anchor resolves, every `leadrank …` / `sf leadrank …` command and flag shown in code exists in the
// real command tree, every `npm run X` is a script of package.json, and every repository path shown in code
// (`bench/…`, `test/…`, `scripts/…`, …) and every `python -m leadrank_training.X` module exists.
//
// Hand-written on purpose: no Markdown parser is in the dependency tree, and the subset read here (fenced and
// inline code, links, headings and their GitHub anchors) is small and line-oriented. Adding remark for it would
// cost a lockfile change that every parallel branch has to merge.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** A command and its subcommands, as commander or oclif know them. */
export interface CommandNode {
  name: string;
  options: Set<string>;
  /** The options that take a value (`--target <kind>`): the word after one is its value, not a subcommand. */
  valued?: Set<string>;
  children: Map<string, CommandNode>;
}

export interface DocsContext {
  /** The repository root: link targets and repository paths resolve under it. */
  root: string;
  leadrank: CommandNode;
  /** `sf` with the plugin's commands under it (`leadrank org setup`). */
  sf: CommandNode;
  npmScripts: Set<string>;
}

export interface CodeSpan {
  text: string;
  line: number;
  inline: boolean;
}

export interface MarkdownParts {
  code: CodeSpan[];
  links: { target: string; line: number }[];
  anchors: Set<string>;
}

/** GitHub's heading anchor: lower case, punctuation dropped (letters, digits, `-`, `_` and spaces kept), spaces → `-`. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Fenced blocks, inline code spans, links (outside code), and the anchors headings and `<a id>` define. */
export function parseMarkdown(source: string): MarkdownParts {
  // HTML comments are not rendered (notes such as `<!-- TODO(merge): … -->`): blanked, keeping line numbers.
  const visible = source.replace(/<!--[\s\S]*?-->/g, (comment) => comment.replace(/[^\n]/g, ''));
  const lines = visible.split('\n');
  const code: CodeSpan[] = [];
  const links: MarkdownParts['links'] = [];
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: { marker: string; start: number; body: string[] } | undefined;
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    const fenceMatch = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (fenceMatch && fenceMatch[1]!.startsWith(fence.marker)) {
        code.push({ text: fence.body.join('\n'), line: fence.start + 1, inline: false });
        fence = undefined;
      } else fence.body.push(line);
      return;
    }
    if (fenceMatch) {
      fence = { marker: fenceMatch[1]!, start: lineNo, body: [] };
      return;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = githubSlug(heading[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]!);
    // Inline code first; links are read from what is left outside it.
    const outside = line.replace(/(`+)([^`]|[^`].*?[^`])\1(?!`)/g, (_m, _ticks, inner: string) => {
      code.push({ text: inner.trim(), line: lineNo, inline: true });
      return ' ';
    });
    for (const l of outside.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
      links.push({ target: l[1]!, line: lineNo });
    const reference = /^\s*\[[^\]]+\]:\s*(\S+)/.exec(outside);
    if (reference) links.push({ target: reference[1]!, line: lineNo });
  });
  // Inline code that wraps onto the next line (README style) is joined here.
  joinWrappedInlineCode(lines, code);
  return { code, links, anchors };
}

function joinWrappedInlineCode(lines: string[], code: CodeSpan[]): void {
  let inFence = false;
  for (let i = 0; i < lines.length - 1; i++) {
    if (/^\s*(`{3,}|~{3,})/.test(lines[i]!)) inFence = !inFence;
    if (inFence) continue;
    const ticks = (lines[i]!.match(/`/g) ?? []).length;
    if (ticks % 2 === 1) {
      const tail = lines[i]!.slice(lines[i]!.lastIndexOf('`') + 1);
      const head = lines[i + 1]!.slice(0, lines[i + 1]!.indexOf('`'));
      if (lines[i + 1]!.includes('`'))
        code.push({ text: `${tail} ${head}`.trim(), line: i + 1, inline: true });
    }
  }
}

/** `sf leadrank …`, or the plugin run from its source (`npx tsx sf-plugin/bin/run.ts leadrank …`). */
const SF_INVOCATION = /(?:^|[\s(;&|])(?:sf|npx tsx sf-plugin\/bin\/run\.ts)\s+(leadrank\b.*)/g;
const SHELL_END = new Set(['&&', '||', ';', '>', '>>', '2>&1', '&', '#', '\\']);
const WORD = /^[a-z][a-z0-9-]*$/;
const SF_GLOBAL_FLAGS = new Set(['--json', '--flags-dir', '--help']);
const COMMON_FLAGS = new Set(['--help', '--version']);

/** Checks the words and flags that follow a command name against the tree; returns the problems found. */
function checkCommand(root: CommandNode, tokens: string[], label: string, globals: Set<string>): string[] {
  const problems: string[] = [];
  let node = root;
  const path: CommandNode[] = [root];
  let i = 0;
  for (; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (SHELL_END.has(token) || token.startsWith('#')) break;
    if (token === '|') {
      // `leadrank experiment create | canary | widen`: alternatives among siblings; else a shell pipe.
      const next = tokens[i + 1];
      const parent = path[path.length - 2];
      if (next && parent?.children.has(next)) {
        node = parent.children.get(next)!;
        path[path.length - 1] = node;
        i += 1;
        continue;
      }
      break;
    }
    if (token.startsWith('-')) {
      if (!token.startsWith('--')) continue; // short flags (-h) are not documented forms here
      const flag = token.split('=')[0]!.replace(/[,.:;)]+$/, '');
      if (flag === '--') continue;
      const known = path.some((n) => n.options.has(flag)) || globals.has(flag);
      if (!known) problems.push(`unknown option ${flag} for \`${label} ${namesOf(path)}\``);
      // `leadrank model --target opportunity promote`: the option's value is not the next subcommand.
      if (!token.includes('=') && path.some((n) => n.valued?.has(flag))) i += 1;
      continue;
    }
    if (node.children.size === 0) continue; // an argument
    const alternatives = token.split('|');
    if (alternatives.every((a) => WORD.test(a))) {
      const missing = alternatives.filter((a) => !node.children.has(a));
      if (missing.length > 0) {
        problems.push(
          `unknown command \`${label} ${[namesOf(path), missing[0]].filter(Boolean).join(' ')}\``,
        );
        break;
      }
      node = node.children.get(alternatives[0]!)!;
      path.push(node);
      continue;
    }
    break; // a placeholder (<cmd>, …) or prose
  }
  return problems;
}

function namesOf(path: CommandNode[]): string {
  return path
    .slice(1)
    .map((n) => n.name)
    .join(' ');
}

function tokenize(text: string): string[] {
  return text
    .replace(/[`"']/g, ' ')
    .split(/\s+/)
    .filter((t) => t.length > 0);
}

/** Repository paths shown in code: the folders a reader may be sent to. `test/x` may be any package's test/. */
const PATH_PATTERN =
  /(?:^|[\s(`'"=])((?:bench|scripts|training|config|docs|force-app|preview|sf-plugin|org-simulator|crm-generator|scoring-sidecar|test)\/[\w./@-]*\.(?:ts|mts|mjs|js|py|json|jsonc|yml|yaml|md|cls|sql|csv|png))(?=$|[\s),:;`'"])/g;
const TEST_HOMES = [
  '',
  'scoring-sidecar/',
  'org-simulator/',
  'crm-generator/',
  'scripts/',
  'preview/',
  'training/',
];

export function repoPathExists(root: string, path: string): boolean {
  if (path.includes('<') || path.includes('*')) return true;
  if (path.startsWith('test/')) return TEST_HOMES.some((home) => existsSync(join(root, home, path)));
  return existsSync(join(root, path));
}

/** Every problem in one Markdown file, each as `file:line: message`. */
export function checkMarkdownFile(file: string, ctx: DocsContext): string[] {
  const source = readFileSync(file, 'utf8');
  const parts = parseMarkdown(source);
  const where = (line: number) => `${relative(ctx.root, file)}:${line}`;
  const problems: string[] = [];
  // Files the page's own commands write (`--out x.json`) may be named again later on the page.
  const written = new Set([...source.matchAll(/--out[= ]+([\w./@-]+)/g)].map((m) => m[1]!));

  for (const link of parts.links) {
    const target = link.target;
    if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [pathPart, anchor] = target.split('#') as [string, string | undefined];
    const targetFile = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
    if (!existsSync(targetFile)) {
      problems.push(`${where(link.line)}: broken link ${target} (no ${relative(ctx.root, targetFile)})`);
      continue;
    }
    if (anchor !== undefined && targetFile.endsWith('.md') && statSync(targetFile).isFile()) {
      const anchors =
        targetFile === file ? parts.anchors : parseMarkdown(readFileSync(targetFile, 'utf8')).anchors;
      if (!anchors.has(anchor))
        problems.push(
          `${where(link.line)}: broken anchor ${target} (no heading #${anchor} in ${relative(ctx.root, targetFile)})`,
        );
    }
  }

  for (const span of parts.code) {
    const lines = span.inline ? [span.text] : span.text.replace(/\\\n\s*/g, ' ').split('\n');
    lines.forEach((text, offset) => {
      const line = span.line + (span.inline ? 0 : offset);
      const bare = text.replace(/^\s*\$\s+/, '');
      if (/^\s*#/.test(bare) && !span.inline) return; // a shell comment
      for (const m of bare.matchAll(SF_INVOCATION))
        for (const p of checkCommand(ctx.sf, tokenize(m[1]!), 'sf', SF_GLOBAL_FLAGS))
          problems.push(`${where(line)}: ${p}`);
      const withoutSf = bare.replace(SF_INVOCATION, ' ');
      const invocations =
        /(?:^|[\s(;&|])(?:npm run(?: --silent)? leadrank(?: --)?|npx tsx scoring-sidecar\/src\/cli\.ts|leadrank)(?=\s)(.*)/g;
      for (const m of withoutSf.matchAll(invocations))
        for (const p of checkCommand(ctx.leadrank, tokenize(m[1]!), 'leadrank', COMMON_FLAGS))
          problems.push(`${where(line)}: ${p}`);
      for (const m of bare.matchAll(
        /(?:^|[\s(;&|])npm run((?:\s+--?[\w-]+)*)\s+([\w:.-]+)(?:\s+(?:-w|--workspace)[\s=]+([\w./-]+))?/g,
      )) {
        if (/\s(-w|--workspace)\b/.test(m[1]!)) continue;
        // `npm run <script> -w <folder>`: a script of that workspace's package.json.
        const scripts = m[3] ? workspaceScripts(ctx.root, m[3]) : ctx.npmScripts;
        if (!scripts.has(m[2]!))
          problems.push(
            `${where(line)}: unknown npm script \`npm run ${m[2]}\`${m[3] ? ` in workspace ${m[3]}` : ''}`,
          );
      }
      for (const m of bare.matchAll(/-m\s+leadrank_training\.(\w+)/g))
        if (!existsSync(join(ctx.root, 'training', 'leadrank_training', `${m[1]}.py`)))
          problems.push(`${where(line)}: no Python module leadrank_training.${m[1]}`);
      for (const m of bare.matchAll(PATH_PATTERN))
        if (!written.has(m[1]!) && !repoPathExists(ctx.root, m[1]!))
          problems.push(`${where(line)}: no such file ${m[1]}`);
    });
  }
  return problems;
}

/** The `leadrank` program as commander built it: every command, subcommand and long option. */
export function commanderTree(program: {
  name(): string;
  options: readonly { long?: string; required?: boolean; optional?: boolean }[];
  commands: readonly unknown[];
}): CommandNode {
  const node: CommandNode = {
    name: program.name(),
    options: new Set(program.options.map((o) => o.long).filter((l): l is string => Boolean(l))),
    valued: new Set(
      program.options
        .filter((o) => o.required || o.optional)
        .map((o) => o.long)
        .filter((l): l is string => Boolean(l)),
    ),
    children: new Map(),
  };
  for (const sub of program.commands as (typeof program)[]) node.children.set(sub.name(), commanderTree(sub));
  return node;
}

/** Adds an oclif command id (`leadrank org setup`) and its flags under `sf`. */
export function addOclifCommand(sf: CommandNode, id: string[], flags: string[]): void {
  let node = sf;
  for (const name of id) {
    if (!node.children.has(name)) node.children.set(name, { name, options: new Set(), children: new Map() });
    node = node.children.get(name)!;
  }
  for (const flag of flags) node.options.add(`--${flag}`);
}

/** The scripts of a workspace's package.json (none when the folder has no package.json). */
function workspaceScripts(root: string, folder: string): Set<string> {
  const file = join(root, folder, 'package.json');
  if (!existsSync(file)) return new Set();
  return new Set(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { scripts?: object }).scripts ?? {}));
}
