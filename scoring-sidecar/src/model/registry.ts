// Reads the model registry written by `python -m leadrank_training.registry` (layout in
// training/leadrank_training/registry.py): alias documents, the alias log and version artifacts. Versions are
// copied into a local cache directory (checked against their manifest) and loaded with loadOnnxModel.
// Local directories only for now: an s3:// URL is refused with a clear message (the Python side reads S3).
// Targets: lead models at the (regional) root, deal models under its targets/opportunity/ (registry.py).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { featureSpecSchema, type FeatureSpec } from '../features/index.js';
import { loadOnnxModel, type OnnxModel } from './onnx-scorer.js';

export const REGISTRY_URL_ENV = 'LEADRANK_REGISTRY_URL';
export const ALIASES = ['champion', 'challenger'] as const;
export type AliasName = (typeof ALIASES)[number];
/** What a registry's models score: lead models at the root, opportunity (deal) models in targets/opportunity/. */
export const TARGETS = ['lead', 'opportunity'] as const;
export type ModelTarget = (typeof TARGETS)[number];
const MANIFEST = 'manifest.json';
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_REGISTRY_DIR = join(repoRoot, 'var', 'registry');

export const aliasDocSchema = z.object({
  alias: z.enum(ALIASES),
  version: z.string().regex(/^lr-[0-9a-f]{16}$/),
  previous_version: z.string().nullable(),
  action: z.string(),
  reason: z.string(),
  updated_by: z.string(),
  updated_at: z.string(),
});
export type AliasDoc = z.infer<typeof aliasDocSchema>;

export const manifestSchema = z.object({
  version: z.string(),
  registered_at: z.string(),
  registered_by: z.string(),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number() })),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** The model card fields the sidecar uses; the rest passes through untouched. */
export const modelCardSchema = z
  .object({
    version: z.string(),
    feature_spec: z.object({ name: z.string(), hash: z.string(), features: z.number() }).loose(),
    metrics: z
      .object({
        test: z.object({ roc_auc: z.number().nullable(), ece: z.number().nullable() }).loose(),
      })
      .loose()
      .optional(),
  })
  .loose();
export type ModelCard = z.infer<typeof modelCardSchema>;

/** Read side of a registry backend: whole objects by '/'-separated key. */
export interface RegistryStore {
  readonly url: string;
  /** The object's bytes, or null when it does not exist. */
  read(key: string): Promise<Buffer | null>;
  /** Every key under the prefix, sorted. */
  list(prefix: string): Promise<string[]>;
}

export class LocalRegistryStore implements RegistryStore {
  readonly root: string;
  readonly url: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.url = `file://${this.root}`;
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    const rel = relative(this.root, path);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`key ${key} escapes the registry root`);
    return path;
  }

  async read(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.path(prefix);
    try {
      if ((await stat(base)).isFile()) return [prefix];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const entries = await readdir(base, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => relative(this.root, join(e.parentPath, e.name)).split('\\').join('/'))
      .sort();
  }
}

/**
 * A region's registry of one target when it has one (versions or aliases), else the root's: decided on every
 * call, so the first regional registration takes over without a restart. A lead registry is judged by its own
 * folders only, so a region holding only deal models (targets/opportunity/) still serves the root's leads.
 */
export class RegionalRegistryStore implements RegistryStore {
  constructor(
    readonly regional: LocalRegistryStore,
    readonly fallback: LocalRegistryStore,
  ) {}

  private current(): LocalRegistryStore {
    const has = (name: string) => existsSync(join(this.regional.root, name));
    return has('versions') || has('aliases') ? this.regional : this.fallback;
  }

  get url(): string {
    return this.current().url;
  }

  read(key: string): Promise<Buffer | null> {
    return this.current().read(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.current().list(prefix);
  }
}

/** `file:///abs/path` or a plain path; default $LEADRANK_REGISTRY_URL, else <repo>/var/registry. */
export function openRegistryStore(
  url = process.env[REGISTRY_URL_ENV] || DEFAULT_REGISTRY_DIR,
): RegistryStore {
  if (url.startsWith('s3://')) {
    throw new Error(
      `registry ${url}: the sidecar reads local registries only; sync the bucket to a directory ` +
        '(e.g. `aws s3 sync`) or use the Python CLI for S3',
    );
  }
  if (url.startsWith('file://')) return new LocalRegistryStore(fileURLToPath(url));
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(url)) throw new Error(`unsupported registry URL ${url}`);
  return new LocalRegistryStore(url);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function parseJson<T>(schema: z.ZodType<T>, data: Buffer, what: string): T {
  const parsed = schema.safeParse(JSON.parse(data.toString('utf8')));
  if (!parsed.success) throw new Error(`${what}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export class ModelRegistry {
  constructor(
    readonly store: RegistryStore,
    readonly target: ModelTarget = 'lead',
  ) {}

  /**
   * With a region: the registry is keyed by region, `<root>/regions/<region>/` (what
   * `python -m leadrank_training.registry --region <region>` and `leadrank model train --region --register`
   * write), so a deployment reads only its region's versions and aliases. While the region has no registry of
   * this target yet (one region per registry, or written before regions), the root's is read; the choice is
   * made on every read, so a serving process that started on the root's models finds the region's as soon as
   * one is registered. The served model's card is checked for its region either way (model/residency.ts).
   * `strict`: the region's registry only, never the root's (the CLI with --region, which also writes there).
   * A target other than lead reads `targets/<target>/` of that (`--target` of the Python registry CLI).
   */
  static open(
    url?: string,
    region?: 'US' | 'EU',
    target: ModelTarget = 'lead',
    o: { strict?: boolean } = {},
  ): ModelRegistry {
    const root = openRegistryStore(url);
    if (!(root instanceof LocalRegistryStore)) return new ModelRegistry(root, target);
    const targetPath = (base: string) => (target === 'lead' ? base : join(base, 'targets', target));
    const rooted = new LocalRegistryStore(targetPath(root.root));
    if (!region) return new ModelRegistry(rooted, target);
    const regional = new LocalRegistryStore(targetPath(join(root.root, 'regions', region)));
    return new ModelRegistry(o.strict ? regional : new RegionalRegistryStore(regional, rooted), target);
  }

  /** `champion`, or `opportunity champion` in another target's registry (for messages). */
  label(alias: AliasName): string {
    return this.target === 'lead' ? alias : `${this.target} ${alias}`;
  }

  async alias(name: AliasName): Promise<AliasDoc | null> {
    const data = await this.store.read(`aliases/${name}.json`);
    return data === null ? null : parseJson(aliasDocSchema, data, `alias ${name}`);
  }

  /** Every alias move, oldest first. */
  async aliasLog(): Promise<AliasDoc[]> {
    const keys = await this.store.list('alias-log/');
    const entries: AliasDoc[] = [];
    for (const key of keys) {
      const data = await this.store.read(key);
      if (data) entries.push(parseJson(aliasDocSchema, data, key));
    }
    return entries;
  }

  async manifest(version: string): Promise<Manifest | null> {
    const data = await this.store.read(`versions/${version}/${MANIFEST}`);
    return data === null ? null : parseJson(manifestSchema, data, `manifest of ${version}`);
  }

  /** Complete versions (with a manifest), oldest registration first. */
  async versions(): Promise<string[]> {
    const keys = await this.store.list('versions/');
    const found = keys.filter((k) => k.endsWith(`/${MANIFEST}`)).map((k) => k.split('/')[1] as string);
    const manifests = await Promise.all(found.map(async (v) => [v, await this.manifest(v)] as const));
    return manifests
      .sort(
        ([a, ma], [b, mb]) =>
          (ma?.registered_at ?? '').localeCompare(mb?.registered_at ?? '') || a.localeCompare(b),
      )
      .map(([v]) => v);
  }

  /** One artifact, checked against the version's manifest. */
  async artifact(version: string, name: string): Promise<Buffer> {
    const manifest = await this.manifest(version);
    if (!manifest) throw new Error(`version ${version} is not in the registry ${this.store.url}`);
    const expected = manifest.files[name];
    if (!expected) throw new Error(`version ${version} has no ${name}`);
    const data = await this.store.read(`versions/${version}/${name}`);
    if (data === null || sha256(data) !== expected.sha256) {
      throw new Error(`versions/${version}/${name} is missing or does not match its manifest`);
    }
    return data;
  }

  async card(version: string): Promise<ModelCard> {
    return parseJson(modelCardSchema, await this.artifact(version, 'model_card.json'), `card of ${version}`);
  }

  async featureSpec(version: string): Promise<FeatureSpec> {
    return parseJson(
      featureSpecSchema,
      await this.artifact(version, 'feature-spec.json'),
      `spec of ${version}`,
    );
  }

  /**
   * Copies a version into `<cacheDir>/<version>` (once: a cached copy is reused) and returns that directory.
   * Written to a temporary directory and renamed into place, so a crash never leaves a half copy.
   */
  async fetchVersion(version: string, cacheDir: string): Promise<string> {
    if (!/^lr-[0-9a-f]{16}$/.test(version)) throw new Error(`not a model version: ${version}`);
    const target = join(cacheDir, version);
    if ((await readFile(join(target, MANIFEST)).catch(() => null)) !== null) return target;
    const manifest = await this.manifest(version);
    if (!manifest) throw new Error(`version ${version} is not in the registry ${this.store.url}`);
    const tmp = join(cacheDir, `.tmp-${version}-${randomUUID()}`);
    await mkdir(tmp, { recursive: true });
    try {
      for (const name of Object.keys(manifest.files)) {
        await writeFile(join(tmp, name), await this.artifact(version, name));
      }
      await writeFile(join(tmp, MANIFEST), JSON.stringify(manifest));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      // Another process cached the same version first: its copy is as good as ours.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    return target;
  }

  /** fetchVersion + loadOnnxModel (which re-checks the content-hash version). */
  async loadVersion(version: string, cacheDir: string): Promise<OnnxModel> {
    const model = await loadOnnxModel(await this.fetchVersion(version, cacheDir));
    if (model.version !== version) {
      await model.close();
      throw new Error(`registry version ${version} loaded as ${model.version}`);
    }
    return model;
  }
}
