// The on-disk layout and the hash chain. A region's log is `<dir>/<region>/YYYY-MM-DD/segment-NNNNNN.ndjson`;
// every line is canonical JSON {seq, kind, …, prev, hash} with hash = sha256(canonical line without hash), and
// prev the hash of the line before it, across segment boundaries. The first line of every segment is a
// `segment` header naming the segment's own path, so a renamed or moved segment no longer matches.
// `HEAD.json` holds the last committed {seq, hash, segment}: a removed or truncated tail falls short of it.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256Hex, type AuditEntry, type StoredEntry } from './entry.js';

export const GENESIS_HASH = '0'.repeat(64);
export const HEAD_FILE = 'HEAD.json';
export const REGIONS = ['US', 'EU'] as const;
export type AuditRegion = (typeof REGIONS)[number];

const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
const SEGMENT_FILE = /^segment-(\d{6})\.ndjson$/;

export interface RecoveryRecord {
  reason: string;
  segment: string;
  truncatedBytes: number;
  droppedLines: number;
  at: string;
}

export type ChainBody =
  | { kind: 'segment'; region: AuditRegion; segment: string }
  | { kind: 'score'; entry: StoredEntry | AuditEntry } // sealed; in clear only in logs written before sealing
  | { kind: 'recovery'; recovery: RecoveryRecord };

export type ChainLine = ChainBody & { seq: number; prev: string; hash: string };

export interface Head {
  seq: number;
  hash: string;
  segment: string;
}

export function segmentName(day: string, number: number): string {
  return `${day}/segment-${String(number).padStart(6, '0')}.ndjson`;
}

export function segmentNumber(segment: string): number {
  return Number(SEGMENT_FILE.exec(segment.split('/')[1] ?? '')?.[1] ?? NaN);
}

export function hashOf(line: Omit<ChainLine, 'hash'>): string {
  return sha256Hex(canonicalJson(line));
}

/** The line's text (with its newline) and hash. */
export function sealLine(body: ChainBody, seq: number, prev: string): { text: string; hash: string } {
  // Each member is canonicalized once and the two texts (without and with the hash) assembled from them.
  const unsealed: Record<string, unknown> = { ...body, seq, prev };
  const members = Object.keys(unsealed)
    .filter((k) => unsealed[k] !== undefined)
    .sort()
    .map((k) => ({ key: k, text: `${JSON.stringify(k)}:${canonicalJson(unsealed[k])}` }));
  const hash = sha256Hex(`{${members.map((m) => m.text).join(',')}}`);
  const at = members.findIndex((m) => m.key > 'hash');
  members.splice(at < 0 ? members.length : at, 0, { key: 'hash', text: `"hash":${JSON.stringify(hash)}` });
  return { text: `{${members.map((m) => m.text).join(',')}}\n`, hash };
}

/** Segments of one region dir, oldest first (day, then number), as `YYYY-MM-DD/segment-NNNNNN.ndjson`. */
export async function listSegments(regionDir: string): Promise<string[]> {
  const days = (await readdirOrEmpty(regionDir)).filter((d) => DAY_DIR.test(d)).sort();
  const segments: string[] = [];
  for (const day of days)
    for (const file of (await readdirOrEmpty(join(regionDir, day)))
      .filter((f) => SEGMENT_FILE.test(f))
      .sort())
      segments.push(`${day}/${file}`);
  return segments;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** One hash chain: a region dir of one writer. `id` is its path under the root ("US", "worker-1/EU", or "" when
 * the root is itself a region dir); `region` is the region its headers must name (null when unknown). */
export interface ChainDir {
  id: string;
  path: string;
  region: AuditRegion | null;
}

const WORKER_DIR = /^worker-\d+$/;
/** The batch cycles' chains (`leadrank worker --roles batch`): one writer per region at a time, under the cycle lease. */
export const BATCH_DIR = 'batch';
/** The opportunity cycles' chains: one writer per region at a time, under the opportunity cycle's own lease. */
export const OPPORTUNITY_BATCH_DIR = 'batch-opportunities';

/**
 * Every chain under `dir`: `<dir>/<region>`, with `serve --workers N` `<dir>/worker-<i>/<region>` (one
 * writer per directory), the batch cycles' `<dir>/batch/<region>` and the opportunity cycles'
 * `<dir>/batch-opportunities/<region>`. A worker folder without a region dir is reported as a chain with no region so that
 * verification names it. `dir` itself is the chain when it holds day dirs or a HEAD.json and nothing else.
 */
export async function listChains(dir: string): Promise<ChainDir[]> {
  const entries = await readdir(dir);
  const chains: ChainDir[] = REGIONS.filter((r) => entries.includes(r)).map((r) => ({
    id: r,
    path: join(dir, r),
    region: r,
  }));
  const writers = [
    ...entries.filter((e) => WORKER_DIR.test(e)).sort(byWorkerNumber),
    ...entries.filter((e) => e === BATCH_DIR),
    ...entries.filter((e) => e === OPPORTUNITY_BATCH_DIR),
  ];
  for (const worker of writers) {
    const inner = await readdirOrEmpty(join(dir, worker));
    const regions = REGIONS.filter((r) => inner.includes(r));
    if (regions.length === 0) chains.push({ id: worker, path: join(dir, worker), region: null });
    for (const r of regions) chains.push({ id: `${worker}/${r}`, path: join(dir, worker, r), region: r });
  }
  if (chains.length === 0 && entries.some((e) => e === HEAD_FILE || DAY_DIR.test(e)))
    return [{ id: '', path: dir, region: null }];
  return chains;
}

function byWorkerNumber(a: string, b: string): number {
  return Number(a.slice('worker-'.length)) - Number(b.slice('worker-'.length));
}

export async function readHead(regionDir: string): Promise<Head | null> {
  try {
    return JSON.parse(await readFile(join(regionDir, HEAD_FILE), 'utf8')) as Head;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
