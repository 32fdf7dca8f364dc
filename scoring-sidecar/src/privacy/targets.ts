// Where a lead can be kept, each as an erasure target: it removes the lead and says how much it removed. The
// command and the server build the list from their configuration (commands/privacy.ts, server.ts).
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { SubjectKeyStore } from '../audit/index.js';
import type { ExplanationCache } from '../batch/index.js';
import type { ExperimentStore } from '../experiments/index.js';
import type { WatermarkStore } from '../ingest/index.js';
import type { WorklistIndex } from '../ranking/index.js';
import type { SalesforceClient } from '../salesforce/index.js';
import type { OnlineFeatureStore } from '../store/index.js';
import type { Region } from '../store/index.js';
import {
  deadLettersKey,
  writebackQueueName,
  type LastWrittenScores,
  type PublishedScores,
  type WritebackDeadLetter,
} from '../writeback/index.js';

export interface ErasureContext {
  receipt: string;
  at: Date;
}

export interface ErasureTarget {
  /** What kind of store ("feature store", "audit log"…) and which one (a key prefix, a directory, an org). */
  store: string;
  where: string;
  /** Removes the lead; the number of items removed (null when the store cannot tell). Idempotent. */
  erase(leadId: string, ctx: ErasureContext): Promise<number | null>;
}

export function featureStoreTarget(store: OnlineFeatureStore, where: string): ErasureTarget {
  return {
    store: 'online feature store (profile, events, aggregates, extract rows)',
    where,
    async erase(leadId) {
      const [state] = await store.getLeadStates([leadId]);
      await store.deleteLeads([leadId]); // events kept for a lead with no profile yet go too
      return state ? 1 : 0;
    },
  };
}

export function worklistTarget(index: WorklistIndex, where: string): ErasureTarget {
  return {
    store: 'worklist index',
    where,
    async erase(leadId) {
      await index.remove([leadId]);
      return null;
    },
  };
}

export function explanationCacheTarget(cache: ExplanationCache, where: string): ErasureTarget {
  return { store: 'explanation cache', where, erase: (leadId) => cache.forget([leadId]) };
}

export function publishedScoresTarget(published: PublishedScores, where: string): ErasureTarget {
  return { store: 'published scores (write-back baseline)', where, erase: (id) => published.forget([id]) };
}

export function lastWrittenTarget(written: LastWrittenScores, where: string): ErasureTarget {
  return { store: 'last written scores (write-back guard)', where, erase: (id) => written.forget([id]) };
}

export function experimentsTarget(store: ExperimentStore, where: string): ErasureTarget {
  return { store: 'experiment exposures and outcomes', where, erase: (id) => store.forgetLead(id) };
}

/** Crypto-shredding: the subject's audit key is destroyed; its entries stay in the chain, unreadable. */
export function auditTarget(keys: SubjectKeyStore): ErasureTarget {
  return {
    store: 'audit log (subject key destroyed)',
    where: keys.description,
    async erase(leadId, ctx) {
      const subject = await keys.subjectOf(leadId);
      const before = (await keys.tombstone(subject))?.keyIds.length ?? 0;
      const after = (await keys.destroy(subject, ctx.receipt, ctx.at))?.keyIds.length ?? 0;
      return after - before;
    },
  };
}

/** Score_History__c rows of the lead, hard-deleted (Bulk API 2.0 hardDelete: past the Recycle Bin). */
export function scoreHistoryTarget(
  client: SalesforceClient,
  where: string,
  object = 'Score_History__c',
): ErasureTarget {
  return {
    store: `${object} (Bulk API 2.0 hardDelete)`,
    where,
    async erase(leadId) {
      const ids: string[] = [];
      // The lead's live rows (the sync never soft-deletes history rows, so none wait in the Recycle Bin)
      for await (const row of client.query(`SELECT Id FROM ${object} WHERE Lead__c = '${leadId}'`))
        ids.push(String(row.Id));
      if (ids.length === 0) return 0;
      let job: string | null = null;
      const outcome = await client.runIngestJob(
        {
          object,
          operation: 'hardDelete',
          keyColumn: 'Id',
          csv: `Id\n${ids.join('\n')}\n`,
          rows: ids.length,
        },
        { load: async () => job, save: async (id) => void (job = id) },
      );
      if (outcome.jobFailure) throw new Error(outcome.jobFailure);
      if (outcome.failed.length > 0)
        throw new Error(`${outcome.failed.length} rows not deleted: ${outcome.failed[0]!.code}`);
      return ids.length;
    },
  };
}

async function* filesUnder(dir: string): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(path);
    else if (e.isFile()) yield path;
  }
}

/**
 * Parquet files (exports, training sets) and line files (CSV, NDJSON) under `dir`: every row holding the lead id
 * in one of its cells is dropped and the file rewritten in place (write then rename: a reader sees the old or the
 * new file). Any other file naming the lead is reported, not changed: the step fails and the receipt says so.
 */
export function filesTarget(store: string, dir: string): ErasureTarget {
  return {
    store,
    where: dir,
    async erase(leadId) {
      let rewritten = 0;
      const untouched: string[] = [];
      for await (const file of filesUnder(dir)) {
        if (file.endsWith('.tmp')) continue;
        if (file.endsWith('.parquet')) {
          if (await rewriteParquetWithout(file, leadId)) rewritten++;
          continue;
        }
        const text = await readFile(file, 'utf8').catch(() => '');
        if (!text.includes(leadId)) continue;
        if (/\.(csv|ndjson|jsonl)$/.test(file)) {
          const kept = text.split('\n').filter((line) => !line.includes(leadId));
          await replaceFile(file, kept.join('\n'));
          rewritten++;
        } else untouched.push(file);
      }
      if (untouched.length > 0)
        throw new Error(`${untouched.length} file(s) name the lead and cannot be rewritten: ${untouched[0]}`);
      return rewritten;
    },
  };
}

async function replaceFile(file: string, content: string | Uint8Array): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

/** Rewrites the file without the rows that hold `leadId` in a cell; false when it holds none. */
async function rewriteParquetWithout(file: string, leadId: string): Promise<boolean> {
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  const rows = (await parquetReadObjects({ file: buffer, metadata })) as Record<string, unknown>[];
  const holds = (row: Record<string, unknown>) => Object.values(row).some((v) => v === leadId);
  if (!rows.some(holds)) return false;
  const kept = rows.filter((row) => !holds(row));
  // The file's own schema (top level columns only: exports and training sets are flat), so types are unchanged.
  const columns = metadata.schema.slice(1).map((s) => s.name);
  const out = parquetWriteBuffer({
    schema: metadata.schema,
    columnData: columns.map((name) => ({ name, data: kept.map((r) => r[name] ?? null) })),
    ...(metadata.key_value_metadata ? { kvMetadata: metadata.key_value_metadata } : {}),
  });
  await replaceFile(file, new Uint8Array(out));
  return true;
}

/** Drops every array element and object member that holds `leadId`; the rest of the JSON as it was. */
function withoutLead(value: unknown, leadId: string): unknown {
  const holds = (v: unknown) => JSON.stringify(v).includes(leadId);
  if (Array.isArray(value)) return value.filter((v) => !holds(v)).map((v) => withoutLead(v, leadId));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => !k.includes(leadId) && !(typeof v !== 'object' && holds(v)))
        .map(([k, v]) => [k, withoutLead(v, leadId)]),
    );
  return value;
}

/**
 * The batch cycles' state in Redis (`<prefix>:{<region>}:batch:c:*`: partitions' rows, scores, written lists, dead
 * letters, kept for the state retention): every value naming the lead is rewritten without it (gzip kept, TTL
 * kept). Plain JSON and gzip JSON values only; another value naming the lead fails the step.
 */
export function batchStateTarget(redisUrl: string, keyPrefix: string, region: string): ErasureTarget {
  const match = `${keyPrefix}:{${region}}:batch:c:*`;
  return {
    store: 'batch cycle state',
    where: `redis ${match}`,
    async erase(leadId) {
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
      redis.on('error', () => {});
      let rewritten = 0;
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            if ((await redis.type(key)) !== 'string') continue;
            const raw = await redis.getBuffer(key);
            if (!raw) continue;
            const gz = raw[0] === 0x1f && raw[1] === 0x8b;
            const text = (gz ? gunzipSync(raw) : raw).toString('utf8');
            if (!text.includes(leadId)) continue;
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              throw new Error(`${key.slice(keyPrefix.length)} names the lead and is not JSON`);
            }
            const json = JSON.stringify(withoutLead(parsed, leadId));
            await redis.set(key, gz ? gzipSync(json) : json, 'KEEPTTL');
            rewritten++;
          }
        } while (cursor !== '0');
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
      return rewritten;
    },
  };
}

/**
 * The lead's write-back leftovers: its jobs in the BullMQ queue `leadrank-writeback-<region>` (waiting, delayed,
 * and the completed and failed ones BullMQ keeps; a job's id starts with the lead id, writeback/job.ts) and its
 * dead letters (`<prefix>:{<region>}:writeback:dead`). A job a consumer holds at that moment cannot be removed;
 * it fails the step (the receipt says "incomplete" and a new request finishes it).
 */
export function writebackLeftoversTarget(
  redisUrl: string,
  region: Region,
  opts: { keyPrefix: string; bullPrefix?: string },
): ErasureTarget {
  const bullPrefix = opts.bullPrefix ?? 'bull';
  const name = writebackQueueName(region);
  return {
    store: 'write-back queue and dead letters',
    where: `redis ${bullPrefix}:${name}, ${deadLettersKey(opts.keyPrefix, region)}`,
    async erase(leadId) {
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
      redis.on('error', () => {});
      const queue = new Queue(name, { connection: redis, prefix: bullPrefix });
      let removed = 0;
      try {
        const base = `${bullPrefix}:${name}:`;
        const jobIds = new Set<string>();
        let cursor = '0';
        do {
          // Job hashes are <base><jobId> (plus <base><jobId>:logs / :lock); job ids start "<leadId>-".
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}${leadId}-*`, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) jobIds.add(key.slice(base.length).split(':')[0]!);
        } while (cursor !== '0');
        for (const id of jobIds) {
          const n = await queue.remove(id);
          if (n === 0)
            throw new Error(`write-back job of the lead is being processed: run the erasure again`);
          removed++;
        }
        // BullMQ's event stream names each job by id (so by lead id): those events go too.
        const events = `${base}events`;
        for (const [entryId, fields] of await redis.xrange(events, '-', '+')) {
          const at = fields.indexOf('jobId');
          if (at >= 0 && at % 2 === 0 && fields[at + 1]?.startsWith(`${leadId}-`)) {
            await redis.xdel(events, entryId);
          }
        }
        const dead = deadLettersKey(opts.keyPrefix, region);
        for (const raw of await redis.lrange(dead, 0, -1)) {
          const letter = JSON.parse(raw) as WritebackDeadLetter;
          if (letter.job?.leadId === leadId) removed += await redis.lrem(dead, 0, raw);
        }
      } finally {
        await queue.close().catch(() => {});
        await redis.quit().catch(() => redis.disconnect());
      }
      return removed;
    },
  };
}

/**
 * The org sync's watermark keeps the ids of the rows it applied within its overlap window (minutes), to skip them
 * when read again. The lead's entry is removed; at worst a pull then applies that row a second time (a deleted
 * row is removed and requested for erasure again, which finds the finished receipt). A pull running at the same
 * moment may write the entry back, for at most the overlap window.
 */
export function syncWatermarkTarget(watermarks: WatermarkStore, where: string): ErasureTarget {
  return {
    store: 'org sync watermark (overlap window)',
    where,
    async erase(leadId) {
      const w = await watermarks.load();
      if (!w) return 0;
      let removed = 0;
      for (const cursor of [w.leads, w.accounts])
        if (cursor && leadId in cursor.seen) {
          delete cursor.seen[leadId];
          removed++;
        }
      if (removed) await watermarks.save(w);
      return removed;
    },
  };
}
