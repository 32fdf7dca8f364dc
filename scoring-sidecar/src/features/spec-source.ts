// The configuration a model was trained with, carried inside the fitted feature-spec.json (and so inside the
// model version and its card): the spec file's content, its hash and the sensitive fields it selected under
// an override with the recorded reason. Serving compares it with the active spec (servability.ts).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';
import { featureConfigSchema, type FeatureConfig } from './spec-schema.js';

/** sha256 (hex) of the canonical JSON of a validated spec (defaults filled in by the schema). */
export function featureConfigHash(config: FeatureConfig): string {
  return createHash('sha256').update(canonicalJson(config), 'utf8').digest('hex');
}

export const specOverrideSchema = z.object({
  feature: z.string(),
  field: z.string(),
  reason: z.string(),
});
export type SpecOverride = z.infer<typeof specOverrideSchema>;

export const specSourceSchema = z
  .object({
    /** The spec file, relative to the repository (documentation: the content is what counts). */
    file: z.string().optional(),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    config: featureConfigSchema,
    overrides: z.array(specOverrideSchema),
  })
  .refine((s) => s.hash === featureConfigHash(s.config), {
    message: 'source.hash does not match source.config',
    path: ['hash'],
  });
export type SpecSource = z.infer<typeof specSourceSchema>;

/** Every feature selected under an override, with the field it reads and the recorded reason. */
export function specOverrides(config: FeatureConfig): SpecOverride[] {
  return config.features.flatMap((f) =>
    f.override
      ? [
          {
            feature: f.name,
            field: 'field' in f.source ? f.source.field : JSON.stringify(f.source),
            reason: f.override.reason,
          },
        ]
      : [],
  );
}

export function specSource(config: FeatureConfig, file?: string): SpecSource {
  return {
    ...(file !== undefined ? { file } : {}),
    hash: featureConfigHash(config),
    config,
    overrides: specOverrides(config),
  };
}
