// Stands in for a data load into a fresh org (Data Loader / sf data import) from NDJSON seed files.
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { OrgStore, SObjectRecord } from './org-store.js';

const SEED_BATCH_ROWS = 10_000;

/** Seed files in dependency order, with the object each holds. */
export const SEED_FILES: readonly { file: string; object: string }[] = [
  { file: 'users.ndjson.gz', object: 'User' },
  { file: 'accounts.ndjson.gz', object: 'Account' },
  { file: 'leads.ndjson.gz', object: 'Lead' },
  { file: 'leads-historical.ndjson.gz', object: 'Lead' },
  { file: 'opportunities.ndjson.gz', object: 'Opportunity' },
  { file: 'tasks.ndjson.gz', object: 'Task' },
  { file: 'lead-history.ndjson.gz', object: 'LeadHistory' },
  { file: 'score-history.ndjson.gz', object: 'Score_History__c' },
];

export class SeedError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly statusCode: string,
    readonly fields: string[],
    detail: string,
  ) {
    super(`${file}:${line}: ${statusCode}${fields.length ? ` (${fields.join(', ')})` : ''}: ${detail}`);
    this.name = 'SeedError';
  }
}

/**
 * Streams a gzip or plain NDJSON file of records keyed by API field names (Ids included) into `object`,
 * 10K rows per transaction. A bad row rolls back its batch and throws SeedError naming file, line and field.
 */
export async function loadNdjson(store: OrgStore, object: string, file: string): Promise<number> {
  const input = createReadStream(file);
  const lines = createInterface({
    input: file.endsWith('.gz') ? input.pipe(createGunzip()) : input,
    crlfDelay: Infinity,
  });
  let batch: SObjectRecord[] = [];
  let batchLines: number[] = [];
  let lineNo = 0;
  let loaded = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const records = batch;
    const numbers = batchLines;
    store.transaction(() => {
      const results = store.insert(object, records, { keepIds: true });
      const failed = results.findIndex((r) => !r.success);
      if (failed >= 0) {
        const error = results[failed]?.errors[0];
        throw new SeedError(
          file,
          numbers[failed] ?? 0,
          error?.statusCode ?? 'UNKNOWN',
          error?.fields ?? [],
          error?.message ?? '',
        );
      }
    });
    loaded += records.length;
    batch = [];
    batchLines = [];
  };
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new SeedError(file, lineNo, 'JSON_PARSER_ERROR', [], (error as Error).message);
    }
    batch.push(record as SObjectRecord);
    batchLines.push(lineNo);
    if (batch.length >= SEED_BATCH_ROWS) flush();
  }
  flush();
  return loaded;
}

/**
 * Loads whichever SEED_FILES exist in `dir`; returns rows loaded per file. `skip` names files to leave out,
 * e.g. the 45M historical leads of a full-scale data set, which stay on disk for training.
 */
export async function seedFromDirectory(
  store: OrgStore,
  dir: string,
  opts: { skip?: readonly string[] } = {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { file, object } of SEED_FILES) {
    const path = join(dir, file);
    if (!existsSync(path) || opts.skip?.includes(file)) continue;
    counts[file] = await loadNdjson(store, object, path);
  }
  return counts;
}
