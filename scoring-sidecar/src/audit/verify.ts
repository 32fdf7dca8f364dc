// Reading the log back: full verification of the chain, and a lead's score history.
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GENESIS_HASH,
  hashOf,
  listSegments,
  listChains,
  readHead,
  segmentNumber,
  type ChainDir,
  type ChainLine,
} from './chain.js';
import { verifyCheckpoints, type AnchoredLine, type Checkpoint } from './anchor.js';
import type { AnchorStore } from './anchor-store.js';
import { auditEntrySchema, lineEntrySchema, type AuditEntry, type StoredEntry } from './entry.js';
import { subjectKeyStoreFromEnv } from './key-store-from-env.js';
import { unseal, type ErasureTombstone, type SubjectKey, type SubjectKeyStore } from './subject-keys.js';

export interface AuditProblem {
  segment: string;
  line: number;
  reason: string;
}

/** Where one chain ends: its last complete line, and the last committed one (HEAD.json's, once verified). */
export interface ChainHead {
  chain: string;
  seq: number;
  hash: string;
  segment: string;
  /**
   * The line HEAD.json records: written only after its batch is on disk, so it is what anchoring signs (a line
   * past it may still be in flight, or lost by a power cut without being tampering).
   */
  committed: AnchoredLine;
}

export interface VerifyResult {
  ok: boolean;
  entries: number;
  segments: number;
  /** The chains verified (ids as under the root: "US", "worker-1/EU"), each with its last line. */
  chains: ChainHead[];
  /** The number of the checkpoint the chains were checked against; null when not anchored. */
  checkpoint: number | null;
  problem?: AuditProblem;
}

export interface VerifyOptions {
  /** Check the chains against the latest signed checkpoint of `store` (every checkpoint's signature too). */
  anchors?: { store: AnchorStore; publicKey: KeyObject };
  /**
   * The writer may be appending: a torn last line of a chain's last segment is the write in flight, not
   * damage. (Used by `audit anchor`, which runs beside the writer.)
   */
  live?: boolean;
  /**
   * With anchors: start each anchored chain at its anchored line (whose hash must still match) instead of the
   * first line, so `audit anchor` costs the entries since the last checkpoint, not the whole log. The lines
   * before it were verified when that checkpoint was made; a full `verify` re-reads them.
   */
  incremental?: boolean;
}

const HEAD_LABEL = 'HEAD.json';
// Top-level members of a canonical line (sorted keys: hash, kind, prev, seq; a string value cannot hold an
// unescaped quote, so `"hash":"` and `,"seq":` only match the line's own members).
const SEQ_AND_HASH = /"hash":"([0-9a-f]{64})".*,"seq":(\d+)\}$/;

class Tampered extends Error {
  constructor(readonly problem: AuditProblem) {
    super(problem.reason);
  }
}

/** Checks one chain from its first line to its end, HEAD and the anchored line. Throws `Tampered`. */
async function verifyChain(
  chain: ChainDir,
  anchor: AnchoredLine | undefined,
  live: boolean,
  incremental: boolean,
): Promise<{ entries: number; segments: number; head: ChainHead }> {
  const label = chain.id === '' ? '' : `${chain.id}/`;
  const fail = (segment: string, line: number, reason: string): never => {
    throw new Tampered({ segment: `${label}${segment}`, line, reason });
  };
  if (chain.region === null && chain.id !== '')
    fail('', 0, 'worker folder holds no region chain: emptied or removed');
  // HEAD first: it is written after the data, so the segments read next reach at least as far.
  const head = await readHead(chain.path);
  const segments = await listSegments(chain.path);
  if (segments.length === 0 && head === null)
    fail(HEAD_LABEL, 0, 'no segments and no HEAD.json: the chain is empty or was emptied');
  let seq = 0;
  let prev = GENESIS_HASH;
  let entries = 0;
  let headSeen = head?.seq === 0 && head.hash === GENESIS_HASH;
  let anchorSeen = anchor?.seq === 0 && anchor.hash === GENESIS_HASH;
  let lastSegment = '';
  let start = 0;
  // Incremental: lines before the anchored one are skipped (not checked) up to it.
  let skipUntil = 0;
  if (incremental && anchor && anchor.seq > 0) {
    start = segments.indexOf(anchor.segment);
    if (start < 0) fail(anchor.segment, 0, 'the segment holding the anchored line is missing');
    lastSegment = segments[start - 1] ?? '';
    skipUntil = anchor.seq;
  }
  for (const [index, segment] of segments.entries()) {
    if (index < start) continue;
    const [day] = segment.split('/');
    const number = segmentNumber(segment);
    const expected = lastSegment.startsWith(`${day}/`) ? segmentNumber(lastSegment) + 1 : 1;
    // After retention the first segment kept may be a day's n-th (the earlier ones of its day expired).
    const expiredBefore = index === 0 && anchor?.base?.segment === segment;
    if (number !== expected && !expiredBefore)
      fail(
        segment,
        0,
        `segment numbers of ${day} jump from ${expected - 1} to ${number}: a segment is missing or renamed`,
      );
    lastSegment = segment;
    const text = await readFile(join(chain.path, segment), 'utf8');
    const inFlight = live && index === segments.length - 1;
    if (text.length === 0 && inFlight) continue; // just created by the writer, its first write pending
    if (text.length === 0) fail(segment, 0, 'empty segment');
    const lines = text.split('\n');
    if (lines.at(-1) !== '' && !inFlight)
      fail(segment, lines.length, 'torn last line (no newline): truncated or still being written');
    for (let i = 0; i < lines.length - 1; i++) {
      const at = i + 1;
      if (seq + 1 < skipUntil) {
        // Before the anchored line (incremental): canonical text, so seq and hash are read without parsing.
        const skipped = SEQ_AND_HASH.exec(lines[i]!);
        if (skipped && Number(skipped[2]) < skipUntil) {
          headSeen ||= head !== null && head.seq === Number(skipped[2]) && head.hash === skipped[1];
          seq = Number(skipped[2]);
          continue;
        }
      }
      let line: ChainLine;
      try {
        line = JSON.parse(lines[i]!) as ChainLine;
      } catch {
        return fail(segment, at, 'not valid JSON');
      }
      const { hash, ...unsealed } = line;
      if (index === 0 && i === 0 && line.seq !== 1 && anchor?.base && line.seq >= skipUntil) {
        // The head expired under retention: the chain must start exactly where the checkpoint says it does.
        const base = anchor.base;
        if (line.seq !== base.seq || line.prev !== base.prev || segment !== base.segment)
          fail(
            segment,
            at,
            `chain starts at seq ${line.seq}, neither at 1 nor where the signed checkpoint says its expired head ends (seq ${base.seq} in ${base.segment}): lines removed`,
          );
        seq = line.seq - 1;
        prev = line.prev;
      }
      if (line.seq < skipUntil) {
        headSeen ||= head !== null && head.seq === line.seq && head.hash === hash;
        seq = line.seq;
        prev = hash;
        continue;
      }
      if (line.seq === skipUntil && skipUntil > 0) {
        if (hashOf(unsealed) !== hash || hash !== anchor!.hash)
          fail(segment, at, 'line differs from the one the signed checkpoint anchored: rewritten');
        seq = line.seq;
        prev = hash;
        anchorSeen = true;
        headSeen ||= head !== null && head.seq === line.seq && head.hash === hash;
        continue;
      }
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
      if (line.kind === 'segment' && chain.region !== null && line.region !== chain.region)
        fail(segment, at, `header names region ${line.region}: segment moved across regions`);
      if (line.kind === 'score') {
        const parsed = lineEntrySchema.safeParse(line.entry);
        if (!parsed.success) fail(segment, at, `entry invalid: ${parsed.error.issues[0]?.message ?? ''}`);
        entries++;
      }
      if (head && line.seq === head.seq) {
        if (line.hash !== head.hash) fail(segment, at, 'line differs from the one HEAD.json recorded');
        headSeen = true;
      }
      if (anchor && line.seq === anchor.seq) {
        if (line.hash !== anchor.hash)
          fail(segment, at, `line differs from the one the signed checkpoint anchored: rewritten`);
        anchorSeen = true;
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
  if (anchor && !anchorSeen)
    fail(
      lastSegment || HEAD_LABEL,
      0,
      `log ends at seq ${seq} but the signed checkpoint anchored seq ${anchor.seq}: the chain was cut`,
    );
  // Beside a live writer HEAD may lag the lines it is writing; otherwise HEAD behind the anchor disagrees with it.
  if (anchor && head && head.seq < anchor.seq && !live)
    fail(HEAD_LABEL, 0, `HEAD.json records seq ${head.seq}, before the anchored seq ${anchor.seq}`);
  return {
    entries,
    segments: segments.length,
    head: {
      chain: chain.id,
      seq,
      hash: prev,
      segment: lastSegment,
      committed: head ?? { seq, hash: prev, segment: lastSegment },
    },
  };
}

/**
 * Verifies every chain under `dir` (regions and workers' regions, or `dir` itself when it is a region dir).
 * With anchors, also the signed checkpoints, and that every anchored chain is there and reaches its anchor.
 */
export async function verifyAuditLog(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const result: VerifyResult = { ok: true, entries: 0, segments: 0, chains: [], checkpoint: null };
  const failed = (segment: string, reason: string): VerifyResult => ({
    ...result,
    ok: false,
    problem: { segment, line: 0, reason },
  });
  let chains: ChainDir[];
  try {
    chains = await listChains(dir);
  } catch (error) {
    return failed('', `cannot read ${dir}: ${(error as Error).message}`);
  }
  let anchored: Record<string, AnchoredLine> = {};
  if (opts.anchors) {
    let checkpoint: Checkpoint | null;
    try {
      checkpoint = verifyCheckpoints(await opts.anchors.store.list(), opts.anchors.publicKey);
    } catch (error) {
      return failed('', `checkpoints in ${opts.anchors.store.description}: ${(error as Error).message}`);
    }
    if (checkpoint === null)
      return failed(
        '',
        `no signed checkpoint in ${opts.anchors.store.description}: run "leadrank audit anchor"`,
      );
    result.checkpoint = checkpoint.number;
    anchored = checkpoint.chains;
    const present = new Set(chains.map((c) => c.id));
    const missing = Object.keys(anchored).find((id) => !present.has(id));
    if (missing !== undefined)
      return failed(
        `${missing}/`,
        `chain anchored by checkpoint ${checkpoint.number} (seq ${anchored[missing]!.seq}) is missing: directory removed`,
      );
  }
  if (chains.length === 0) return failed('', `no audit chain under ${dir}: emptied or removed`);
  for (const chain of chains) {
    try {
      const counts = await verifyChain(
        chain,
        anchored[chain.id],
        opts.live ?? false,
        opts.incremental ?? false,
      );
      result.entries += counts.entries;
      result.segments += counts.segments;
      result.chains.push(counts.head);
    } catch (error) {
      if (error instanceof Tampered) return { ...result, ok: false, problem: error.problem };
      throw error;
    }
  }
  return result;
}

export interface HistoryOptions {
  /** The subjects' key store (default: the one the environment selects, key-store-from-env.ts). */
  keys?: SubjectKeyStore;
}

/**
 * A lead's readable entries, chain by chain in log order, each with its chain id and seq. Reads, does not verify.
 * Sealed entries are found by the subject's pseudonym and opened with its key; those whose key was destroyed
 * (erased) are not yielded: `auditErasure` tells about them.
 */
export async function* auditHistory(
  dir: string,
  leadId: string,
  opts: HistoryOptions = {},
): AsyncGenerator<AuditEntry & { seq: number; chain: string }> {
  const keys = opts.keys ?? subjectKeyStoreFromEnv(dir);
  let subject: string;
  let key: SubjectKey | null;
  try {
    subject = await keys.subjectOf(leadId);
    key = await keys.existingKey(subject);
  } finally {
    if (!opts.keys) await keys.close?.();
  }
  const plain = `"leadId":${JSON.stringify(leadId)}`; // canonical lines: skip parsing the lines of other leads
  const sealed = `"subject":"${subject}"`;
  for (const chain of await listChains(dir)) {
    for (const segment of await listSegments(chain.path)) {
      const text = await readFile(join(chain.path, segment), 'utf8');
      for (const raw of text.split('\n')) {
        const isSealed = key !== null && raw.includes(sealed);
        if (!isSealed && !raw.includes(plain)) continue;
        const line = JSON.parse(raw) as ChainLine;
        if (line.kind !== 'score') continue;
        if (!('sealed' in line.entry)) {
          if (line.entry.leadId === leadId) yield { ...line.entry, seq: line.seq, chain: chain.id };
          continue;
        }
        const stored: StoredEntry = line.entry;
        if (stored.sealed.subject !== subject || stored.sealed.key !== key?.id) continue;
        const { sealed: box, ...clear } = stored;
        const entry = auditEntrySchema.parse({ ...clear, ...JSON.parse(unseal(box, key)) });
        yield { ...entry, seq: line.seq, chain: chain.id };
      }
    }
  }
}

/** Whether a lead's audit entries were erased (its key destroyed), when, under which receipt, and how many. */
export async function auditErasure(
  dir: string,
  leadId: string,
  opts: HistoryOptions = {},
): Promise<(ErasureTombstone & { unreadable: number }) | null> {
  const keys = opts.keys ?? subjectKeyStoreFromEnv(dir);
  let subject: string;
  let tomb: ErasureTombstone | null;
  try {
    subject = await keys.subjectOf(leadId);
    tomb = await keys.tombstone(subject);
  } finally {
    if (!opts.keys) await keys.close?.();
  }
  if (!tomb) return null;
  const needle = `"subject":"${subject}"`;
  const erasedKeys = new Set(tomb.keyIds);
  let unreadable = 0;
  for (const chain of await listChains(dir))
    for (const segment of await listSegments(chain.path))
      for (const raw of (await readFile(join(chain.path, segment), 'utf8')).split('\n')) {
        if (!raw.includes(needle)) continue;
        const line = JSON.parse(raw) as ChainLine;
        if (line.kind === 'score' && 'sealed' in line.entry && erasedKeys.has(line.entry.sealed.key))
          unreadable++;
      }
  return { ...tomb, unreadable };
}

/** "worker-1/US/2026-03-10/segment-000002.ndjson line 3: reason", without the parts that are empty. */
export function problemText(p: AuditProblem): string {
  const where = `${p.segment}${p.line > 0 ? ` line ${p.line}` : ''}`;
  return where ? `${where}: ${p.reason}` : p.reason;
}
