// sObject Collections: up to 200 records a call, per-record results (allOrNone false). Records that fail
// with UNABLE_TO_LOCK_ROW (a rep was editing them) are sent again under the transport's retry policy; other
// record errors are returned to the caller.
import pRetry from 'p-retry';
import { LOCK_CODE, SalesforceError } from './errors.js';
import type { SalesforceTransport } from './transport.js';

export const COLLECTION_LIMIT = 200;

export type CollectionRecord = Record<string, unknown>;

export interface CollectionResult {
  /** The record's Id (update) or external id value (upsert) as sent. */
  key: string;
  id: string | null;
  success: boolean;
  created?: boolean;
  errors: { statusCode: string; message: string; fields?: string[] }[];
}

interface SaveResult {
  id?: string | null;
  success: boolean;
  created?: boolean;
  errors: { statusCode: string; message: string; fields?: string[] }[];
}

/**
 * Updates (by Id) or upserts (by `externalIdField`) `records` of `object`, 200 a call; one result per record,
 * in input order.
 */
export async function saveCollection(
  t: SalesforceTransport,
  object: string,
  records: CollectionRecord[],
  opts: { externalIdField?: string } = {},
): Promise<CollectionResult[]> {
  const keyField = opts.externalIdField ?? 'Id';
  const path = opts.externalIdField
    ? `/composite/sobjects/${object}/${opts.externalIdField}`
    : '/composite/sobjects';
  const results: CollectionResult[] = new Array(records.length);
  for (let start = 0; start < records.length; start += COLLECTION_LIMIT) {
    let pending = records
      .slice(start, start + COLLECTION_LIMIT)
      .map((record, i) => ({ record, index: start + i }));
    await pRetry(
      async () => {
        const answers = await t.request<SaveResult[]>({
          method: 'PATCH',
          path,
          write: true,
          contentType: 'application/json',
          body: JSON.stringify({
            allOrNone: false,
            records: pending.map(({ record }) => ({ attributes: { type: object }, ...record })),
          }),
        });
        const locked: typeof pending = [];
        pending.forEach((p, i) => {
          const a = answers[i] ?? {
            success: false,
            errors: [{ statusCode: 'UNKNOWN_EXCEPTION', message: 'no result' }],
          };
          results[p.index] = {
            key: String(p.record[keyField] ?? ''),
            id: a.id ?? null,
            success: a.success,
            ...(a.created !== undefined ? { created: a.created } : {}),
            errors: a.errors ?? [],
          };
          if (!a.success && a.errors?.some((e) => e.statusCode === LOCK_CODE)) locked.push(p);
        });
        pending = locked;
        if (locked.length > 0)
          throw new SalesforceError(
            200,
            LOCK_CODE,
            `${locked.length} record(s) locked by another transaction`,
          );
      },
      {
        retries: Math.max(0, t.retry.maxAttempts - 1),
        minTimeout: t.retry.baseDelayMs,
        maxTimeout: t.retry.maxDelayMs,
        randomize: true,
        // Only the lock retry lives here; the call itself already went through the transport's policy.
        shouldRetry: ({ error }) =>
          (error as SalesforceError).errorCode === LOCK_CODE && (error as SalesforceError).status === 200,
        onFailedAttempt: () => {
          t.stats.retriedCalls++;
        },
      },
    ).catch((error: unknown) => {
      // Still locked after every attempt: those records keep their UNABLE_TO_LOCK_ROW result.
      if ((error as SalesforceError).errorCode !== LOCK_CODE || (error as SalesforceError).status !== 200)
        throw error;
    });
  }
  return results;
}
