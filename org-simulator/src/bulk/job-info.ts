// Stands in for the Bulk API 2.0 job info JSON fields shared by ingest and query jobs.
import type { CsvDialect } from './csv-dialect.js';
import type { JobState } from './job-state.js';

export interface JobBase {
  readonly id: string;
  readonly object: string;
  readonly createdById: string;
  readonly createdDate: Date;
  systemModstamp: Date;
  state: JobState;
  readonly dialect: CsvDialect;
  /** The API version the job was created in, e.g. 62 for v62.0. */
  readonly apiVersion: number;
  numberRecordsProcessed: number;
  retries: number;
  totalProcessingTime: number;
  errorMessage?: string;
}

/** Salesforce's job timestamp format: `2024-01-31T09:15:00.000+0000`. */
export function formatJobDate(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

/** `/services/data/v62.0/...` or `62.0` → 62. */
export function parseApiVersion(versionParam: string | undefined, fallback: string): number {
  const raw = (versionParam ?? fallback).replace(/^v/i, '');
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : Number(fallback.replace(/^v/i, ''));
}

export function versionSegment(apiVersion: number): string {
  return `v${apiVersion.toFixed(1)}`;
}

export function touch(job: JobBase, state?: JobState): void {
  if (state) job.state = state;
  job.systemModstamp = new Date();
}
