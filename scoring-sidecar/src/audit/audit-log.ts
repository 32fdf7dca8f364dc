// The writer: region-local, append-only, hash-chained NDJSON segments. Appends are group-committed: every
// append made while a commit is in flight joins the next batch, and a batch is one write (per segment touched)
// and, with fsync "batch", one fdatasync before any of its appends resolve. One writer process per region dir.
// The write and the HEAD replacement are synchronous system calls on the event loop (a few KB into the page
// cache cost less than a thread-pool hop each); only the fdatasync, which waits for the disk, leaves the loop.
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdir, readFile, rm, truncate } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import {
  GENESIS_HASH,
  HEAD_FILE,
  hashOf,
  listSegments,
  readHead,
  sealLine,
  segmentName,
  segmentNumber,
  type AuditRegion,
  type ChainBody,
  type ChainLine,
  type Head,
  type RecoveryRecord,
} from './chain.js';
import { auditEntrySchema, clearPart, sealedPart, type AuditEntry, type StoredEntry } from './entry.js';
import { subjectKeyStoreFromEnv } from './key-store-from-env.js';
import { seal, type SubjectKey, type SubjectKeyStore } from './subject-keys.js';

export interface AuditLog {
  /** Resolves once the entries are written (and, with fsync "batch", on disk). All or none are taken. */
  append(entries: AuditEntry[]): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  dir: string;
  region: AuditRegion;
  /** Rotate once a segment would exceed this (default 64 MiB); a segment always takes at least one line. */
  maxSegmentBytes?: number;
  /** Segments also rotate at each UTC day of this clock (default: the system clock). */
  clock?: () => Date;
  /**
   * "batch" (default): fdatasync each batch before its appends resolve. "interval": appends resolve once written
   * (in the page cache: a process crash loses nothing), fdatasync runs behind them, one at a time, and an append
   * waits for it only when the oldest unsynced line is older than `maxUnsyncedMs` (a power loss can lose the
   * answered lines of at most that long). "none": leave it to the OS.
   */
  fsync?: 'batch' | 'interval' | 'none';
  /** With fsync "interval": the bound on how long an answered line may stay unsynced (default 50 ms). */
  maxUnsyncedMs?: number;
  /**
   * HEAD.json is replaced at most this often (default 100 ms; 0: after every batch), and by flush() and close():
   * the replacement (write + rename) cost more CPU than the rest of a one-line commit. Between two, HEAD lags the
   * committed lines by at most this long.
   */
  headIntervalMs?: number;
  /**
   * Where the subjects' keys are (default: the store the environment selects, key-store-from-env.ts; the
   * directory of `defaultKeyDir(dir)` unless LEADRANK_AUDIT_KEY_STORE=postgres); never inside `dir`.
   */
  keys?: SubjectKeyStore;
  /** The environment the default key store is chosen from (default process.env). */
  env?: Record<string, string | undefined>;
  /**
   * How long a subject's key is reused from memory before the store is asked again (default 5 s): after an
   * erasure, a writer may seal that long with the destroyed key (entries nobody can read, as erased ones are).
   */
  keyCacheMs?: number;
}

export const AUDIT_FSYNC_MODES = ['batch', 'interval', 'none'] as const;

export class AuditLogError extends Error {
  override name = 'AuditLogError';
}

interface PendingLine {
  segment: string;
  text: string;
  seq: number;
  hash: string;
}

const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

/** What the last segment holds after dropping a torn tail: the resume point of the chain. */
interface Tail {
  segment: string;
  bytes: number;
  last: ChainLine;
  recovery: Omit<RecoveryRecord, 'at'> | null;
}

function parseLine(text: string): ChainLine | null {
  try {
    return JSON.parse(text) as ChainLine;
  } catch {
    return null;
  }
}

/**
 * A crash can leave the last batch half-written: cut everything after the last line that parses. A complete
 * line that fails its hash is not a crash but tampering, and opening is refused.
 */
async function recoverTail(regionDir: string): Promise<Tail | null> {
  let removedBytes = 0;
  let removedLines = 0;
  for (;;) {
    const segments = await listSegments(regionDir);
    const segment = segments.at(-1);
    if (segment === undefined) return null;
    const file = join(regionDir, segment);
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    let keptLines = lines.length - 1; // the part after the last newline is torn (or empty)
    let last: ChainLine | null = null;
    while (keptLines > 0 && (last = parseLine(lines[keptLines - 1]!)) === null) keptLines--;
    const kept = Buffer.byteLength(lines.slice(0, keptLines).join('\n')) + (keptLines > 0 ? 1 : 0);
    const total = Buffer.byteLength(text);
    const dropped = lines.length - 1 - keptLines + (lines.at(-1) === '' ? 0 : 1);
    if (last === null) {
      // nothing complete in the last segment: drop the file, resume from the segment before it
      await rm(file);
      removedBytes += Buffer.byteLength(text);
      removedLines += dropped;
      if (segments.length === 1) return null;
      continue;
    }
    const { hash, ...unsealed } = last;
    if (hashOf(unsealed) !== hash)
      throw new AuditLogError(
        `${segment} line ${keptLines}: last line fails its hash; run "leadrank audit verify"`,
      );
    if (kept < total) await truncate(file, kept);
    const truncatedBytes = total - kept + removedBytes;
    return {
      segment,
      bytes: kept,
      last,
      recovery:
        truncatedBytes > 0
          ? {
              reason: 'torn tail from an interrupted write truncated on reopen',
              segment,
              truncatedBytes,
              droppedLines: dropped + removedLines,
            }
          : null,
    };
  }
}

class FileAuditLog implements AuditLog {
  private readonly regionDir: string;
  private readonly maxSegmentBytes: number;
  private readonly clock: () => Date;
  private readonly fsync: 'batch' | 'interval' | 'none';
  private readonly maxUnsyncedMs: number;
  private readonly headIntervalMs: number;
  // The HEAD replacement, throttled: when it last happened, and the committed head still to record.
  private headWrittenAt = Number.NEGATIVE_INFINITY;
  private headDue: Head | null = null;
  private headTimer: NodeJS.Timeout | null = null;
  // The chain as appended (ahead of the disk while a batch is pending).
  private seq = 0;
  private prev = GENESIS_HASH;
  private segment: string | null = null;
  private segmentBytes = 0;
  private pending: PendingLine[] = [];
  private scheduled: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private handle: { segment: string; fd: number } | null = null;
  // fsync "interval": the background fdatasync in flight, and when the oldest line it has not yet covered was written.
  private syncing: Promise<void> | null = null;
  private unsyncedSince: number | null = null;
  private unsyncedHead: Head | null = null;
  private failure: Error | null = null;
  private closed = false;
  // Appends are sealed in call order (the key store is asynchronous), then chained.
  private sealing: Promise<void> = Promise.resolve();
  private readonly keys: SubjectKeyStore;
  private readonly ownsKeys: boolean;
  private readonly keyCacheMs: number;
  private readonly keyCache = new Map<string, { key: SubjectKey; at: number }>();

  constructor(private readonly opts: AuditLogOptions) {
    this.regionDir = join(opts.dir, opts.region);
    this.maxSegmentBytes = opts.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.clock = opts.clock ?? (() => new Date());
    this.fsync = opts.fsync ?? 'batch';
    this.maxUnsyncedMs = opts.maxUnsyncedMs ?? 50;
    this.headIntervalMs = opts.headIntervalMs ?? 100;
    this.ownsKeys = !opts.keys;
    this.keys = opts.keys ?? subjectKeyStoreFromEnv(opts.dir, opts.env ?? process.env);
    this.keyCacheMs = opts.keyCacheMs ?? 5_000;
  }

  private async keyOf(subject: string): Promise<SubjectKey> {
    const now = Date.now();
    const cached = this.keyCache.get(subject);
    if (cached && now - cached.at < this.keyCacheMs) return cached.key;
    const key = await this.keys.keyFor(subject);
    if (this.keyCache.size >= 100_000) this.keyCache.clear();
    this.keyCache.set(subject, { key, at: now });
    return key;
  }

  /** Every append's entries are sealed here, whichever path appends them (online, batch). */
  private async sealEntries(entries: AuditEntry[]): Promise<StoredEntry[]> {
    return Promise.all(
      entries.map(async (entry) => {
        const subject = await this.keys.subjectOf(entry.leadId);
        return { ...clearPart(entry), sealed: seal(sealedPart(entry), subject, await this.keyOf(subject)) };
      }),
    );
  }

  async open(): Promise<void> {
    await mkdir(this.regionDir, { recursive: true });
    const tail = await recoverTail(this.regionDir);
    const head = await readHead(this.regionDir);
    // A HEAD at seq 0 over no lines is a chain opened and closed before its first entry: nothing is missing.
    if (head && head.seq > (tail?.last.seq ?? 0))
      throw new AuditLogError(
        `${this.opts.region} audit log ends at seq ${tail?.last.seq ?? 0} but HEAD says ${head.seq}: lines are missing; run "leadrank audit verify"`,
      );
    if (tail === null) {
      // An empty chain still gets a HEAD (seq 0), so that a region dir emptied later is told from a new one.
      if (head === null) this.writeHead({ seq: 0, hash: GENESIS_HASH, segment: '' });
      this.headWrittenAt = Number.NEGATIVE_INFINITY; // opening's HEAD is bookkeeping: the first commit's goes at once
      return;
    }
    this.seq = tail.last.seq;
    this.prev = tail.last.hash;
    this.segment = tail.segment;
    this.segmentBytes = tail.bytes;
    const at = this.clock().toISOString();
    if (tail.recovery) this.push({ kind: 'recovery', recovery: { ...tail.recovery, at } });
    else if (head === null)
      this.push({
        kind: 'recovery',
        recovery: {
          reason: 'HEAD.json missing, rebuilt',
          segment: tail.segment,
          truncatedBytes: 0,
          droppedLines: 0,
          at,
        },
      });
    if (this.pending.length > 0) await this.schedule();
    this.headWrittenAt = Number.NEGATIVE_INFINITY; // opening's HEAD is bookkeeping: the first commit's goes at once
  }

  private dayNow(): string {
    return this.clock().toISOString().slice(0, 10);
  }

  /** Chains one line, first opening a new segment (with its header line) when the day or size demands it. */
  private push(body: ChainBody): void {
    let sealed = sealLine(body, this.seq + 1, this.prev);
    const day = this.dayNow();
    const size = Buffer.byteLength(sealed.text);
    const rotate =
      this.segment === null ||
      !this.segment.startsWith(day) ||
      (this.segmentBytes > 0 && this.segmentBytes + size > this.maxSegmentBytes);
    if (rotate) {
      const number = this.segment?.startsWith(day) ? segmentNumber(this.segment) + 1 : 1;
      const segment = segmentName(day, number);
      const header = sealLine(
        { kind: 'segment', region: this.opts.region, segment },
        this.seq + 1,
        this.prev,
      );
      this.segment = segment;
      this.segmentBytes = 0;
      this.take(header);
      sealed = sealLine(body, this.seq + 1, this.prev);
    }
    this.take(sealed);
  }

  private take(sealed: { text: string; hash: string }): void {
    this.seq++;
    this.prev = sealed.hash;
    this.segmentBytes += Buffer.byteLength(sealed.text);
    this.pending.push({ segment: this.segment!, text: sealed.text, seq: this.seq, hash: sealed.hash });
  }

  append(entries: AuditEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new AuditLogError('audit log is closed'));
    if (this.failure) return Promise.reject(this.failure);
    if (entries.length === 0) return this.flush();
    const parsed: AuditEntry[] = [];
    for (const [i, entry] of entries.entries()) {
      const result = auditEntrySchema.safeParse(entry);
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue?.path.join('.') || '(entry)';
        return Promise.reject(
          new AuditLogError(`audit entry ${i}: ${where}: ${issue?.message ?? 'invalid'}`),
        );
      }
      parsed.push(result.data);
    }
    const sealed = this.sealing.then(async () => {
      const stored = await this.sealEntries(parsed);
      if (this.closed) throw new AuditLogError('audit log is closed');
      if (this.failure) throw this.failure;
      for (const entry of stored) this.push({ kind: 'score', entry });
    });
    this.sealing = sealed.catch(() => {});
    return sealed.then(() => this.schedule());
  }

  /**
   * The next batch: everything pending when the commit in flight (if any) has finished, and at the earliest
   * when the current I/O callbacks are done (the requests answered in the same event-loop turn commit together).
   */
  private schedule(): Promise<void> {
    if (this.scheduled) return this.scheduled;
    const batch = this.queue
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        this.scheduled = null;
        return this.commit();
      });
    this.scheduled = batch;
    this.queue = batch.catch(() => {});
    return batch;
  }

  private async commit(): Promise<void> {
    if (this.failure) throw this.failure;
    const lines = this.pending;
    this.pending = [];
    if (lines.length === 0) return;
    try {
      for (let start = 0; start < lines.length;) {
        const segment = lines[start]!.segment;
        let end = start;
        while (end < lines.length && lines[end]!.segment === segment) end++;
        // Rotating: the background fdatasync of the segment being left ends before its fd is closed.
        if (this.syncing && this.handle && this.handle.segment !== segment) await this.syncing;
        const fd = this.fdFor(segment);
        writeFully(
          fd,
          lines
            .slice(start, end)
            .map((l) => l.text)
            .join(''),
        );
        // A rotation syncs the segment it leaves (its fd is closed next); "interval" syncs the last one behind.
        if (this.fsync === 'batch' || (this.fsync === 'interval' && end < lines.length)) await datasync(fd);
        start = end;
      }
      const last = lines.at(-1)!;
      const head = { seq: last.seq, hash: last.hash, segment: last.segment };
      if (this.fsync === 'interval') return await this.syncBehind(head);
      this.commitHead(head);
    } catch (error) {
      // The chain in memory is now ahead of the disk: refuse further appends rather than fork it.
      this.failure = new AuditLogError(`audit log write failed: ${(error as Error).message}`);
      throw this.failure;
    }
  }

  /**
   * fsync "interval": the lines are written; start a background fdatasync unless one is in flight (the next one
   * covers them), and wait for it only when the oldest unsynced line is older than maxUnsyncedMs. HEAD follows
   * the synced data, never the written data: a power loss can then leave a HEAD behind the data, never ahead.
   */
  private async syncBehind(head: Head): Promise<void> {
    const now = performance.now();
    this.unsyncedSince ??= now;
    this.unsyncedHead = head;
    if (!this.syncing) {
      this.syncing = this.backgroundSync();
      this.syncing.catch(() => {}); // the failure is kept in this.failure and met by the next call
    }
    if (now - this.unsyncedSince > this.maxUnsyncedMs) await this.syncing;
  }

  private async backgroundSync(): Promise<void> {
    try {
      while (this.unsyncedHead && this.handle) {
        const head = this.unsyncedHead;
        this.unsyncedHead = null;
        this.unsyncedSince = null;
        await datasync(this.handle.fd);
        this.commitHead(head);
      }
    } catch (error) {
      this.failure ??= new AuditLogError(`audit log fdatasync failed: ${(error as Error).message}`);
      throw this.failure;
    } finally {
      this.syncing = null;
    }
  }

  private fdFor(segment: string): number {
    if (this.handle?.segment === segment) return this.handle.fd;
    this.closeHandle();
    const path = join(this.regionDir, segment);
    mkdirSync(dirname(path), { recursive: true });
    this.handle = { segment, fd: openSync(path, 'a') };
    return this.handle.fd;
  }

  private closeHandle(): void {
    if (!this.handle) return;
    if (this.fsync === 'interval') fdatasyncSync(this.handle.fd); // lines the background sync has not covered
    closeSync(this.handle.fd);
    this.handle = null;
  }

  /** Records a committed head in HEAD.json now, or within headIntervalMs of the last replacement. */
  private commitHead(head: Head): void {
    const sinceLast = performance.now() - this.headWrittenAt;
    if (sinceLast >= this.headIntervalMs) {
      this.writeHead(head);
      return;
    }
    this.headDue = head;
    this.headTimer ??= setTimeout(() => {
      this.headTimer = null;
      try {
        this.writeDueHead();
      } catch (error) {
        this.failure ??= new AuditLogError(`audit log HEAD write failed: ${(error as Error).message}`);
      }
    }, this.headIntervalMs - sinceLast);
  }

  private writeDueHead(): void {
    if (this.headTimer) clearTimeout(this.headTimer);
    this.headTimer = null;
    if (this.headDue) this.writeHead(this.headDue);
  }

  private writeHead(head: Head): void {
    this.headDue = null;
    this.headWrittenAt = performance.now();
    const tmp = join(this.regionDir, `${HEAD_FILE}.tmp`);
    writeFileSync(tmp, JSON.stringify(head));
    renameSync(tmp, join(this.regionDir, HEAD_FILE)); // atomic: a crash leaves the old or the new HEAD
  }

  async flush(): Promise<void> {
    await this.sealing;
    if (this.pending.length > 0) await this.schedule();
    await this.queue;
    // flush() means durable in every mode but "none": wait for the background fdatasync too; then HEAD is current.
    while (this.syncing) await this.syncing.catch(() => {});
    if (this.failure) throw this.failure;
    this.writeDueHead();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.headTimer) clearTimeout(this.headTimer);
      this.headTimer = null;
      if (this.handle) {
        try {
          fsyncSync(this.handle.fd);
        } catch {
          // closing anyway: the data was written
        }
      }
      this.closeHandle();
      if (this.ownsKeys) await this.keys.close?.();
    }
  }
}

/** A regular file takes the whole buffer in one write; the loop covers a short write all the same. */
function writeFully(fd: number, text: string): void {
  const data = Buffer.from(text);
  for (let off = 0; off < data.length;) off += writeSync(fd, data, off);
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

export async function openAuditLog(opts: AuditLogOptions): Promise<AuditLog> {
  const log = new FileAuditLog(opts);
  await log.open();
  return log;
}
