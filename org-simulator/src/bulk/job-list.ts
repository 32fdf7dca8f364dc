// Stands in for GET /jobs/ingest and /jobs/query: pages of 1,000 jobs with a queryLocator.
import { BulkApiError } from './errors.js';
import type { JobBase } from './job-info.js';

const PAGE_SIZE = 1000;

export interface JobListPage {
  done: boolean;
  records: Record<string, unknown>[];
  nextRecordsUrl: string | null;
}

export function listJobs<J extends JobBase>(
  jobs: Iterable<J>,
  queryLocator: unknown,
  baseUrl: string,
  entry: (job: J) => Record<string, unknown>,
): JobListPage {
  const offset = decodeListLocator(queryLocator);
  const all = [...jobs].sort((a, b) => a.createdDate.getTime() - b.createdDate.getTime());
  const page = all.slice(offset, offset + PAGE_SIZE);
  const next = offset + PAGE_SIZE;
  const done = next >= all.length;
  return {
    done,
    records: page.map(entry),
    nextRecordsUrl: done ? null : `${baseUrl}?queryLocator=${encodeListLocator(next)}`,
  };
}

function encodeListLocator(offset: number): string {
  return Buffer.from(`jobs:${offset}`).toString('base64url');
}

function decodeListLocator(raw: unknown): number {
  if (raw === undefined || raw === '') return 0;
  const m = typeof raw === 'string' ? /^jobs:(\d+)$/.exec(Buffer.from(raw, 'base64url').toString()) : null;
  if (!m) throw new BulkApiError(400, 'INVALIDLOCATOR', `Invalid queryLocator: ${String(raw)}`);
  return Number(m[1]);
}
