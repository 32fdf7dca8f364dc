// The on-disk layout and the hash chain. A region's log is `<dir>/<region>/YYYY-MM-DD/segment-NNNNNN.ndjson`;
// every line is canonical JSON {seq, kind, …, prev, hash} with hash = sha256(canonical line without hash), and
// prev the hash of the line before it, across segment boundaries. The first line of every segment is a
// `segment` header naming the segment's own path, so a renamed or moved segment no longer matches.
// `HEAD.json` holds the last committed {seq, hash, segment}: a removed or truncated tail falls short of it.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, sha256Hex, type AuditEntry } from './entry.js';

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
  | { kind: 'score'; entry: AuditEntry }
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

/** The region dirs under `dir`, or `dir` itself when it is one (holds day dirs or a HEAD). */
export async function regionDirs(dir: string): Promise<{ path: string; label: string }[]> {
  const entries = await readdir(dir);
  const regions = REGIONS.filter((r) => entries.includes(r));
  if (regions.length > 0) return regions.map((r) => ({ path: join(dir, r), label: `${r}/` }));
  return [{ path: dir, label: '' }];
}

export async function readHead(regionDir: string): Promise<Head | null> {
  try {
    return JSON.parse(await readFile(join(regionDir, HEAD_FILE), 'utf8')) as Head;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
