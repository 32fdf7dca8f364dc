// The deploy step up to conversion: force-app with the region's Named Credential pointed at the sidecar
// URL, converted to Metadata API format by source-deploy-retrieve, as `sf project deploy start` does.
// Deploying the result needs a real org (ComponentSet.deploy); everything before it runs offline.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComponentSet, MetadataConverter } from '@salesforce/source-deploy-retrieve';

export const API_VERSION = '62.0';
export type Region = 'US' | 'EU';

/** The Named Credential each region's callouts use (SidecarClient.namedCredential in Apex). */
export function namedCredentialFor(region: Region): string {
  return region === 'EU' ? 'Leadrank_Sidecar_EU' : 'Leadrank_Sidecar';
}

/** A copy of `forceAppDir` whose region Named Credential URL is `sidecarUrl`. */
export async function preparedSource(
  forceAppDir: string,
  region: Region,
  sidecarUrl: string,
): Promise<string> {
  const url = new URL(sidecarUrl);
  if (url.protocol !== 'https:' && url.hostname !== 'localhost' && url.hostname !== '127.0.0.1') {
    throw new Error(
      `--sidecar-url must be https (got ${url.protocol}//${url.host}): Named Credentials call out over TLS`,
    );
  }
  const copy = await mkdtemp(join(tmpdir(), 'leadrank-deploy-'));
  await cp(forceAppDir, join(copy, 'force-app'), { recursive: true });
  const file = join(
    copy,
    'force-app',
    'main',
    'default',
    'namedCredentials',
    `${namedCredentialFor(region)}.namedCredential-meta.xml`,
  );
  const xml = await readFile(file, 'utf8');
  const pattern =
    /(<parameterName>Url<\/parameterName>\s*<parameterType>Url<\/parameterType>\s*<parameterValue>)[^<]*(<\/parameterValue>)/;
  if (!pattern.test(xml)) throw new Error(`${file}: no Url parameter to point at the sidecar`);
  await writeFile(file, xml.replace(pattern, `$1${url.origin}${url.pathname.replace(/\/$/, '')}$2`));
  return join(copy, 'force-app');
}

export function componentsOf(sourceDir: string): ComponentSet {
  const set = ComponentSet.fromSource(sourceDir);
  // Set explicitly, or SDR looks the version up online.
  set.sourceApiVersion = API_VERSION;
  set.apiVersion = API_VERSION;
  return set;
}

/** Converts to Metadata API format in `outputDir`; returns the component count. */
export async function convertForDeploy(sourceDir: string, outputDir: string): Promise<number> {
  const set = componentsOf(sourceDir);
  await new MetadataConverter().convert(set, 'metadata', {
    type: 'directory',
    outputDirectory: outputDir,
    genUniqueDir: false,
  });
  return set.size;
}
