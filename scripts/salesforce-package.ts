// The package's metadata, read the way Salesforce's own tooling reads it (source-deploy-retrieve):
// writes manifest/package.xml from force-app and converts the source to Metadata API format, which
// fails on malformed source. Run: `npx tsx scripts/salesforce-package.ts [--check]`.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComponentSet, MetadataConverter } from '@salesforce/source-deploy-retrieve';
import { XMLValidator } from 'fast-xml-parser';

export const API_VERSION = '62.0';
const repoRoot = join(import.meta.dirname, '..');
export const manifestPath = join(repoRoot, 'manifest', 'package.xml');

/** Every component under force-app; the API version is set so SDR never looks it up online. */
export function packageComponents(sourceDir = join(repoRoot, 'force-app')): ComponentSet {
  const set = ComponentSet.fromSource(sourceDir);
  set.sourceApiVersion = API_VERSION;
  set.apiVersion = API_VERSION;
  return set;
}

export async function renderPackageXml(): Promise<string> {
  return packageComponents().getPackageXml();
}

/**
 * SDR merges decomposed source without validating it, so a truncated XML file would convert silently:
 * check every metadata file for well-formedness first and name the file and line.
 */
export async function assertWellFormedXml(sourceDir: string): Promise<number> {
  const entries = await readdir(sourceDir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith('.xml'))
    .map((e) => join(e.parentPath, e.name));
  for (const file of files) {
    const result = XMLValidator.validate(await readFile(file, 'utf8'));
    if (result !== true) throw new Error(`${file}:${result.err.line}: ${result.err.msg}`);
  }
  return files.length;
}

/** Converts force-app to Metadata API format in a temporary folder; returns the component count. */
export async function convertToMetadataFormat(
  sourceDir = join(repoRoot, 'force-app'),
): Promise<{ components: number; outputDir: string }> {
  await assertWellFormedXml(sourceDir);
  const outputDir = await mkdtemp(join(tmpdir(), 'leadrank-mdapi-'));
  const set = packageComponents(sourceDir);
  await new MetadataConverter().convert(set, 'metadata', {
    type: 'directory',
    outputDirectory: outputDir,
    genUniqueDir: false,
  });
  return { components: set.size, outputDir };
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const wanted = await renderPackageXml();
  const current = await readFile(manifestPath, 'utf8').catch(() => '');
  if (check && current !== wanted) {
    console.error('manifest/package.xml is stale: run `npx tsx scripts/salesforce-package.ts`');
    process.exit(1);
  }
  if (!check) await writeFile(manifestPath, wanted);
  const { components, outputDir } = await convertToMetadataFormat();
  await rm(outputDir, { recursive: true, force: true });
  console.log(`${components} components convert to Metadata API format; manifest/package.xml is current`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
