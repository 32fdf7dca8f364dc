// Optional custom Lead fields (`generate --custom-fields`): a client's own fields, so a proposed spec can be
// shown picking up signal it could not see before. Two are informative (they shift the conversion hazard
// through the ground truth's η, so the Bayes-optimal ceiling accounts for them), two are noise, and one is a
// personal phone number (PII, classified by its field metadata) that a proposal must refuse. Field metadata
// for the org simulator: crm-generator/metadata/custom-fields (deployed with `--metadata-dir`).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, Stream } from './rng.js';

export const BUDGET_BANDS = ['Under 10k', '10k-50k', '50k-250k', 'Over 250k'] as const;
const BUDGET_WEIGHTS = [0.3, 0.35, 0.25, 0.1];
const BUDGET_MISSING = 0.1;
const DEMO_SHARE = 0.2;
export const COLOURS = ['Red', 'Orange', 'Yellow', 'Green', 'Blue', 'Purple'] as const;

/** The SFDX metadata of the fields, for the simulator's `extraMetadataDirs` / `--metadata-dir`. */
export const CUSTOM_FIELDS_METADATA_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'metadata',
  'custom-fields',
);

/** Log-hazard effects of the informative fields (added to η; a missing band adds 0). */
export interface CustomFieldParams {
  budgetBandEffect: Record<(typeof BUDGET_BANDS)[number], number>;
  demoRequestedEffect: number;
}

export const DEFAULT_CUSTOM_FIELD_PARAMS: CustomFieldParams = {
  budgetBandEffect: { 'Under 10k': -0.6, '10k-50k': 0, '50k-250k': 0.5, 'Over 250k': 0.9 },
  demoRequestedEffect: 0.9,
};

/** The informative values, part of the lead's observable drivers. */
export interface CustomDrivers {
  budgetBand: (typeof BUDGET_BANDS)[number] | null;
  demoRequested: boolean;
}

export interface CustomFieldValues extends CustomDrivers {
  favouriteColour: (typeof COLOURS)[number];
  luckyNumber: number;
  personalMobile: string;
}

/** Drawn from their own stream, so a world without custom fields is unchanged by the option. */
export function drawCustomFields(seed: number, index: number): CustomFieldValues {
  const rng = new Rng(seed, Stream.leadCustom, index);
  const band = BUDGET_BANDS[rng.weightedIndex(BUDGET_WEIGHTS)]!;
  const budgetBand = rng.bool(BUDGET_MISSING) ? null : band;
  const demoRequested = rng.bool(DEMO_SHARE);
  const favouriteColour = rng.pick(COLOURS);
  const luckyNumber = rng.int(100);
  const personalMobile = `+1 555 ${String(rng.int(1000)).padStart(3, '0')} ${String(rng.int(10_000)).padStart(4, '0')}`;
  return { budgetBand, demoRequested, favouriteColour, luckyNumber, personalMobile };
}

export function customFieldEffect(d: CustomDrivers, p: CustomFieldParams): number {
  return (
    (d.budgetBand === null ? 0 : p.budgetBandEffect[d.budgetBand]) +
    (d.demoRequested ? p.demoRequestedEffect : 0)
  );
}

/** The Lead record's custom fields. */
export function customFieldRecord(v: CustomFieldValues): Record<string, string | number | boolean | null> {
  return {
    Budget_Band__c: v.budgetBand,
    Demo_Requested__c: v.demoRequested,
    Favourite_Colour__c: v.favouriteColour,
    Lucky_Number__c: v.luckyNumber,
    Personal_Mobile__c: v.personalMobile,
  };
}
