// Residency of learning: a training set, a training run and a model belong to one region; an EU model never
// sees a US row. `config/residency.json` `pooledTraining: true` is the only way to build or train on both
// regions' rows, and such a model says so on its card (`residency.pooled`). A training set records its region
// in `residency.json` next to `training-set.parquet`; the trainer copies it to `model_card.json` `residency`
// (training/leadrank_training/train.py), and a deployment refuses a model of another region, or a pooled one
// when pooling is off.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '../config/index.js';

export const residencyConfigSchema = z.strictObject({
  /** Build and train on both regions' rows (the region then being a feature). Off: one region per set/model. */
  pooledTraining: z.boolean(),
});
export type ResidencyConfig = z.infer<typeof residencyConfigSchema>;

/** The file validated; a deployment without one gets the strict default (no pooling). */
export function loadResidencyConfig(file: string): ResidencyConfig {
  if (!existsSync(file)) return { pooledTraining: false };
  return loadConfigFile(residencyConfigSchema, file);
}

export const RESIDENCY_FILE = 'residency.json';

/** What a training set (residency.json) and a model card (`residency`) record. */
export const residencySchema = z.strictObject({
  /** The one region of every row; null when pooled. */
  region: z.enum(['US', 'EU']).nullable(),
  pooled: z.boolean(),
  builtAt: z.iso.datetime({ offset: true }).optional(),
});
export type Residency = z.infer<typeof residencySchema>;

/** A training set's residency.json, or null for a set built before residency was recorded. */
export function readTrainingSetResidency(dir: string): Residency | null {
  let text: string;
  try {
    text = readFileSync(join(dir, RESIDENCY_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const parsed = residencySchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${join(dir, RESIDENCY_FILE)}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const cardResidencySchema = z.object({
  residency: z.object({ region: z.enum(['US', 'EU']).nullable(), pooled: z.boolean().nullable() }).optional(),
});

/**
 * Refuses to serve, in `region`, a model whose card says it was trained on another region's rows, or on
 * pooled rows while `config/residency.json` does not allow pooling. A card without `residency` (a model
 * trained before it was recorded) is served as before; returns which case it was.
 */
export async function checkModelResidency(
  modelDir: string,
  region: 'US' | 'EU',
  config: ResidencyConfig,
): Promise<'region' | 'pooled' | 'unrecorded'> {
  const card = cardResidencySchema.parse(
    JSON.parse(await readFile(join(modelDir, 'model_card.json'), 'utf8')),
  );
  const r = card.residency;
  if (!r || r.pooled === null) return 'unrecorded';
  if (r.pooled) {
    if (!config.pooledTraining)
      throw new Error(
        `model in ${modelDir} was trained on pooled regions, and config/residency.json pooledTraining is false: not served in ${region}`,
      );
    return 'pooled';
  }
  if (r.region !== region)
    throw new Error(`model in ${modelDir} was trained on ${r.region} rows: not served in region ${region}`);
  return 'region';
}
