import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFeatureSpec, TRAINING_SET_FILE } from '../src/features/training-set-file.js';
import { CLEAN_COLUMNS, LEAKY_COLUMNS, writeXEducationTrainingSets } from '../src/commands/x-education.js';

// The data set lives in the shared folder beside the repository (never copied into it).
const csv = fileURLToPath(new URL('../../../shared/data/x-education-leads.csv', import.meta.url));

describe('x-education training sets', () => {
  let out: string;
  beforeAll(async () => {
    if (!existsSync(csv)) throw new Error(`missing ${csv}: the shared data folder must sit beside the repo`);
    out = await mkdtemp(join(tmpdir(), 'x-education-'));
    await writeXEducationTrainingSets(csv, out);
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('writes clean (arrival-time features only) and leaky (clean + sales-entered columns)', async () => {
    const clean = await readFeatureSpec(join(out, 'clean'));
    const leaky = await readFeatureSpec(join(out, 'leaky'));
    const cleanNames = clean.features.map((f) => f.name);
    expect(cleanNames).toEqual(CLEAN_COLUMNS.map((c) => c.name));
    expect(cleanNames).not.toContain('tags');
    expect(cleanNames).not.toContain('last_activity');
    expect(leaky.features.map((f) => f.name)).toEqual(
      [...CLEAN_COLUMNS, ...LEAKY_COLUMNS].map((c) => c.name),
    );
    expect(leaky.label.horizonDays).toBe(30);
    // 'Select' is the form's "not filled in", never a category.
    for (const f of leaky.features) expect(f.categories ?? []).not.toContain('Select');
  });

  it('keeps every lead, in Lead Number order as pseudo-time, with the published base rate', async () => {
    const rows = await parquetReadObjects({
      file: await asyncBufferFromFile(join(out, 'clean', TRAINING_SET_FILE)),
      columns: ['lead_id', 'snapshot_at', 'label', 'specialization', 'seg_industry'],
    });
    expect(rows).toHaveLength(9240);
    expect(new Set(rows.map((r) => r.lead_id)).size).toBe(9240);
    const times = rows.map((r) => (r.snapshot_at as Date).getTime());
    expect(times.every((t, i) => i === 0 || t > (times[i - 1] as number))).toBe(true);
    expect(rows.filter((r) => r.label === 1)).toHaveLength(3561);
    // A missing Specialization ('Select' or empty) is missing in the feature too, not a category.
    const noIndustry = rows.filter((r) => r.seg_industry === null);
    expect(noIndustry.every((r) => r.specialization === null)).toBe(true);
    expect(noIndustry.length).toBeGreaterThan(3000);
  });
});
