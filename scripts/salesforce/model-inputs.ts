// The Lead fields the sidecar's features read (its LEAD_PROFILE_FIELDS export, read from the TypeScript
// source of truth) against the fields LeadScoringService.cls sends with each lead, so the on-save score
// and the batch score cannot drift apart again.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const repoRoot = join(import.meta.dirname, '..', '..');
/** Where the export lives: the inputs/ floor once the refactor lands, features/ before. */
const CANDIDATES = [
  'scoring-sidecar/src/inputs/lead-profile.ts',
  'scoring-sidecar/src/inputs/index.ts',
  'scoring-sidecar/src/features/lead-profile.ts',
  'scoring-sidecar/src/features/index.ts',
];

export async function sidecarLeadProfileFields(
  root = repoRoot,
): Promise<{ module: string; fields: string[] }> {
  for (const candidate of CANDIDATES) {
    const path = join(root, candidate);
    const exists = await access(path).then(
      () => true,
      () => false,
    );
    if (!exists) continue;
    const loaded = (await import(pathToFileURL(path).href)) as { LEAD_PROFILE_FIELDS?: readonly string[] };
    if (Array.isArray(loaded.LEAD_PROFILE_FIELDS))
      return { module: candidate, fields: [...loaded.LEAD_PROFILE_FIELDS] };
  }
  throw new Error(`LEAD_PROFILE_FIELDS is exported by none of ${CANDIDATES.join(', ')}`);
}

/** The string literals of `MODEL_INPUT_FIELDS = new List<String>{ ... }` in an Apex class. */
export function apexModelInputFields(source: string): string[] {
  const block = /MODEL_INPUT_FIELDS\s*=\s*new\s+List<String>\s*\{([\s\S]*?)\}/i.exec(source);
  if (!block) throw new Error('MODEL_INPUT_FIELDS not found in the Apex source');
  return [...(block[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
}

/** Fields the sidecar reads that Apex does not send ('Id' travels as the lead's id, not a field). */
export async function missingModelInputs(serviceFile: string, root = repoRoot): Promise<string[]> {
  const { fields } = await sidecarLeadProfileFields(root);
  const sent = new Set(apexModelInputFields(await readFile(serviceFile, 'utf8')));
  return fields.filter((f) => f !== 'Id' && !sent.has(f));
}
