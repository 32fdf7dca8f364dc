// Reading the log back: full verification of the chain, and a lead's score history.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GENESIS_HASH,
  hashOf,
  listSegments,
  readHead,
  regionDirs,
  segmentNumber,
  type ChainLine,
} from './chain.js';
import { auditEntrySchema, type AuditEntry } from './entry.js';

export interface AuditProblem {
  segment: string;
  line: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  segments: number;
  problem?: AuditProblem;
}

const HEAD_LABEL = 'HEAD.json';

class Tampered extends Error {
  constructor(readonly problem: AuditProblem) {
    super(problem.reason);
  }
}

/** Checks one region's chain from its first line to HEAD. Throws `Tampered` at the first problem. */
async function verifyRegion(
  regionDir: string,
  label: string,
): Promise<{ entries: number; segments: number }> {
  const segments = await listSegments(regionDir);
  const head = await readHead(regionDir);
  const fail = (segment: string, line: number, reason: string): never => {
    throw new Tampered({ segment: `${label}${segment}`, line, reason });
  };
  let seq = 0;
  let prev = GENESIS_HASH;
  let entries = 0;
  let headSeen = false;
  let lastSegment = '';
  for (const segment of segments) {
    const [day] = segment.split('/');
    const number = segmentNumber(segment);
    const expected = lastSegment.startsWith(`${day}/`) ? segmentNumber(lastSegment) + 1 : 1;
    if (number !== expected)
      fail(
        segment,
        0,
        `segment numbers of ${day} jump from ${expected - 1} to ${number}: a segment is missing or renamed`,
      );
    lastSegment = segment;
    const text = await readFile(join(regionDir, segment), 'utf8');
    if (text.length === 0) fail(segment, 0, 'empty segment');
    const lines = text.split('\n');
    if (lines.at(-1) !== '')
      fail(segment, lines.length, 'torn last line (no newline): truncated or still being written');
    for (let i = 0; i < lines.length - 1; i++) {
      const at = i + 1;
      let line: ChainLine;
      try {
        line = JSON.parse(lines[i]!) as ChainLine;
      } catch {
        return fail(segment, at, 'not valid JSON');
      }
      const { hash, ...unsealed } = line;
      if (line.seq !== seq + 1)
        fail(
          segment,
          at,
          `seq ${line.seq} where ${seq + 1} was expected: a line is missing, inserted or reordered`,
        );
      if (line.prev !== prev)
        fail(segment, at, 'prev does not match the hash of the line before: chain broken');
      if (hashOf(unsealed) !== hash) fail(segment, at, 'hash does not match the line: altered');
      if ((i === 0) !== (line.kind === 'segment'))
        fail(
          segment,
          at,
          i === 0 ? 'first line is not the segment header' : 'segment header inside a segment',
        );
      if (line.kind === 'segment' && line.segment !== segment)
        fail(segment, at, `header names ${line.segment}: segment renamed or moved`);
      if (line.kind === 'segment' && label !== '' && `${line.region}/` !== label)
        fail(segment, at, `header names region ${line.region}: segment moved across regions`);
      if (line.kind === 'score') {
        const parsed = auditEntrySchema.safeParse(line.entry);
        if (!parsed.success) fail(segment, at, `entry invalid: ${parsed.error.issues[0]?.message ?? ''}`);
        entries++;
      }
      if (head && line.seq === head.seq) {
        if (line.hash !== head.hash) fail(segment, at, 'line differs from the one HEAD.json recorded');
        headSeen = true;
      }
      seq = line.seq;
      prev = hash;
    }
  }
  if (segments.length > 0 && head === null)
    fail(HEAD_LABEL, 0, 'HEAD.json missing: a removed tail could not be told');
  if (head && !headSeen)
    fail(
      lastSegment || HEAD_LABEL,
      0,
      `log ends at seq ${seq} but HEAD.json records seq ${head.seq}: segments removed or truncated`,
    );
  return { entries, segments: segments.length };
}

/** Verifies every region under `dir` (or `dir` itself when it is a region dir). */
export async function verifyAuditLog(dir: string): Promise<VerifyResult> {
  let entries = 0;
  let segments = 0;
  let dirs: { path: string; label: string }[];
  try {
    dirs = await regionDirs(dir);
  } catch (error) {
    return {
      ok: false,
      entries,
      segments,
      problem: { segment: '', line: 0, reason: `cannot read ${dir}: ${(error as Error).message}` },
    };
  }
  for (const { path, label } of dirs) {
    try {
      const counts = await verifyRegion(path, label);
      entries += counts.entries;
      segments += counts.segments;
    } catch (error) {
      if (error instanceof Tampered) return { ok: false, entries, segments, problem: error.problem };
      throw error;
    }
  }
  return { ok: true, entries, segments };
}

/** A lead's entries in log order (oldest first), with their seq. Reads, does not verify: see verifyAuditLog. */
export async function* auditHistory(
  dir: string,
  leadId: string,
): AsyncGenerator<AuditEntry & { seq: number }> {
  const needle = `"leadId":${JSON.stringify(leadId)}`; // canonical lines: skip parsing the lines of other leads
  for (const { path } of await regionDirs(dir)) {
    for (const segment of await listSegments(path)) {
      const text = await readFile(join(path, segment), 'utf8');
      for (const raw of text.split('\n')) {
        if (!raw.includes(needle)) continue;
        const line = JSON.parse(raw) as ChainLine;
        if (line.kind === 'score' && line.entry.leadId === leadId) yield { ...line.entry, seq: line.seq };
      }
    }
  }
}
