// Turns the public X Education leads CSV (shared/data) into two training sets in the contract format:
// `clean` (only what is known when a lead arrives) and `leaky` (clean + sales-entered / post-contact columns).
// The file has no timestamps: `Lead Number` order is used as pseudo-time (see docs/model.md).
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { parse } from 'csv-parse';
import { pino } from 'pino';
import {
  makeFeatureSpec,
  writeTrainingSet,
  type FeatureSpec,
  type FeatureSpecEntry as FeatureDefinition,
  type TrainingRow,
} from '../features/index.js';

const log = pino({ name: 'x-education' });

type Csv = Record<string, string>;
interface Column {
  name: string;
  column: string;
  kind: FeatureDefinition['kind'];
  description: string;
}

const num = (name: string, column: string, description: string): Column => ({
  name,
  column,
  kind: 'numeric',
  description,
});
const yesNo = (name: string, column: string, description: string): Column => ({
  name,
  column,
  kind: 'boolean',
  description,
});
const cat = (name: string, column: string, description: string): Column => ({
  name,
  column,
  kind: 'categorical',
  description,
});

const AD_FLAGS: [string, string][] = [
  ['ad_search', 'Search'],
  ['ad_magazine', 'Magazine'],
  ['ad_newspaper_article', 'Newspaper Article'],
  ['ad_x_education_forums', 'X Education Forums'],
  ['ad_newspaper', 'Newspaper'],
  ['ad_digital_advertisement', 'Digital Advertisement'],
  ['through_recommendations', 'Through Recommendations'],
];

/** Known when the lead arrives (shared/data/README.md, "Fair features"). */
export const CLEAN_COLUMNS: readonly Column[] = [
  cat('lead_origin', 'Lead Origin', 'How the lead was identified (API, landing page, ...)'),
  cat('lead_source', 'Lead Source', 'Source of the lead (Google, Olark Chat, ...)'),
  yesNo('do_not_email', 'Do Not Email', 'Lead asked not to be emailed'),
  yesNo('do_not_call', 'Do Not Call', 'Lead asked not to be called'),
  num('total_visits', 'TotalVisits', 'Website visits'),
  num('time_on_website', 'Total Time Spent on Website', 'Total time spent on the website'),
  num('page_views_per_visit', 'Page Views Per Visit', 'Average pages viewed per visit'),
  cat('country', 'Country', 'Country'),
  cat('city', 'City', 'City'),
  cat('specialization', 'Specialization', 'Industry domain the lead worked in'),
  cat('occupation', 'What is your current occupation', 'Current occupation'),
  cat('what_matters_most', 'What matters most to you in choosing a course', 'Main motive for the course'),
  cat('heard_about_via', 'How did you hear about X Education', 'Where the lead heard of X Education'),
  ...AD_FLAGS.map(([name, column]) => yesNo(name, column, `Saw the ad / came via: ${column}`)),
  yesNo('free_copy_interview', 'A free copy of Mastering The Interview', 'Asked for the free book'),
];

/** Sales-entered or post-contact columns that leak the label. */
export const LEAKY_COLUMNS: readonly Column[] = [
  cat('tags', 'Tags', 'LEAKY: status tags set by sales'),
  cat('lead_quality', 'Lead Quality', 'LEAKY: quality judged by the assigned employee'),
  cat('lead_profile', 'Lead Profile', 'LEAKY: lead level assigned by sales'),
  cat('asym_activity_index', 'Asymmetrique Activity Index', 'LEAKY: activity index, time unknown'),
  cat('asym_profile_index', 'Asymmetrique Profile Index', 'LEAKY: profile index, time unknown'),
  num('asym_activity_score', 'Asymmetrique Activity Score', 'LEAKY: activity score, time unknown'),
  num('asym_profile_score', 'Asymmetrique Profile Score', 'LEAKY: profile score, time unknown'),
  cat('last_activity', 'Last Activity', 'LEAKY: latest activity at extraction time'),
  cat('last_notable_activity', 'Last Notable Activity', 'LEAKY: latest notable activity at extraction time'),
];

/** Levels seen fewer times than this become missing (too rare to learn from, and keeps codes stable). */
const MIN_CATEGORY_COUNT = 5;
/** Pseudo-time: lead k (by ascending Lead Number) arrives k hours after this instant. */
export const PSEUDO_TIME_ORIGIN = new Date('2024-01-01T00:00:00Z');
const HOUR_MS = 3_600_000;

/** Empty and the form placeholder 'Select' (and 'Select …') mean "not filled in". */
function text(row: Csv, column: string): string | null {
  const v = (row[column] ?? '').trim();
  return v === '' || v === 'Select' || v.startsWith('Select ') ? null : v;
}

function categoriesOf(rows: readonly Csv[], column: string): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const v = text(r, column);
    if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return [...counts]
    .filter(([, n]) => n >= MIN_CATEGORY_COUNT)
    .sort(([a, na], [b, nb]) => nb - na || (a < b ? -1 : 1))
    .map(([v]) => v);
}

function encoder(
  rows: readonly Csv[],
  c: Column,
): { def: FeatureDefinition; encode: (r: Csv) => number | null } {
  if (c.kind === 'categorical') {
    const categories = categoriesOf(rows, c.column);
    const index = new Map(categories.map((v, i) => [v, i]));
    return {
      def: { name: c.name, kind: c.kind, categories, description: c.description },
      encode: (r) => {
        const v = text(r, c.column);
        return v === null ? null : (index.get(v) ?? null);
      },
    };
  }
  if (c.kind === 'boolean') {
    return {
      def: { name: c.name, kind: c.kind, description: c.description },
      encode: (r) => {
        const v = text(r, c.column);
        return v === 'Yes' ? 1 : v === 'No' ? 0 : null;
      },
    };
  }
  return {
    def: { name: c.name, kind: c.kind, description: c.description },
    encode: (r) => {
      const v = text(r, c.column);
      const x = v === null ? NaN : Number(v);
      return Number.isFinite(x) ? x : null;
    },
  };
}

export async function readXEducationCsv(csvPath: string): Promise<Csv[]> {
  const rows: Csv[] = [];
  const parser = createReadStream(csvPath).pipe(parse({ columns: true, bom: true }));
  for await (const r of parser) rows.push(r as Csv);
  return rows;
}

/** Rows sorted by Lead Number (the pseudo-time order), then converted to training rows over `columns`. */
export function toTrainingSet(
  name: string,
  csvRows: readonly Csv[],
  columns: readonly Column[],
): { spec: FeatureSpec; rows: TrainingRow[] } {
  const sorted = [...csvRows].sort((a, b) => Number(a['Lead Number']) - Number(b['Lead Number']));
  const encoders = columns.map((c) => encoder(sorted, c));
  const spec = makeFeatureSpec(
    name,
    encoders.map((e) => e.def),
  );
  const rows = sorted.map((r, k): TrainingRow => ({
    leadId: r['Prospect ID'] ?? '',
    snapshotAt: new Date(PSEUDO_TIME_ORIGIN.getTime() + k * HOUR_MS),
    label: r.Converted === '1' ? 1 : 0,
    segments: {
      region: text(r, 'Country'),
      leadSource: text(r, 'Lead Source'),
      industry: text(r, 'Specialization'),
      companySize: null,
    },
    values: encoders.map((e) => e.encode(r)),
  }));
  return { spec, rows };
}

/** Writes `<outDir>/clean` and `<outDir>/leaky`. */
export async function writeXEducationTrainingSets(
  csvPath: string,
  outDir: string,
): Promise<{ clean: number; leaky: number }> {
  const csvRows = await readXEducationCsv(csvPath);
  const clean = toTrainingSet('x-education-clean', csvRows, CLEAN_COLUMNS);
  const leaky = toTrainingSet('x-education-leaky', csvRows, [...CLEAN_COLUMNS, ...LEAKY_COLUMNS]);
  const c = await writeTrainingSet(join(outDir, 'clean'), clean.spec, clean.rows);
  const l = await writeTrainingSet(join(outDir, 'leaky'), leaky.spec, leaky.rows);
  return { clean: c.rows, leaky: l.rows };
}

async function main(argv: string[]): Promise<void> {
  const opts = new Command()
    .description('Build the clean and leaky X Education training sets')
    .requiredOption('--csv <path>', 'x-education-leads.csv')
    .requiredOption('--out <dir>', 'output directory (clean/ and leaky/ are written inside)')
    .parse(argv)
    .opts<{ csv: string; out: string }>();
  const counts = await writeXEducationTrainingSets(opts.csv, opts.out);
  log.info({ out: opts.out, ...counts }, 'x-education training sets written');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).catch((err: unknown) => {
    log.error({ err }, 'x-education failed');
    process.exit(1);
  });
}
