// Stands in for Salesforce's stored Bulk API 2.0 result files (append-only CSV).
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import { stringifyOptions, type CsvDialect } from './csv-dialect.js';

/** An append-only CSV result file (successfulResults / failedResults), written one batch at a time. */
export class ResultFile {
  private readonly out: WriteStream;
  private readonly options: ReturnType<typeof stringifyOptions>;

  constructor(file: string, dialect: CsvDialect, header: readonly string[]) {
    this.out = createWriteStream(file);
    this.options = stringifyOptions(dialect);
    this.out.write(stringify([header], this.options));
  }

  async writeRows(rows: readonly (readonly string[])[]): Promise<void> {
    if (rows.length === 0) return;
    // Sync stringify of one batch (≤ 10K rows) is cheaper than a per-row stream and keeps backpressure simple.
    if (!this.out.write(stringify(rows as string[][], this.options))) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (this.out.closed) return;
    this.out.end();
    await once(this.out, 'close');
  }
}
