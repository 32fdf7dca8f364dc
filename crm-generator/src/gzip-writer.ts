import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGzip, constants, type Gzip } from 'node:zlib';

const FLUSH_CHARS = 1 << 16;

/**
 * Line-oriented gzip file writer. Lines are batched into ~64 KB chunks (one zlib call per chunk instead of per
 * line); `needsDrain` reports backpressure so the producer can `await drain()`.
 */
export class GzipLineWriter {
  private readonly gzip: Gzip;
  private readonly file: WriteStream;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private error: Error | undefined;
  lines = 0;

  constructor(readonly path: string) {
    this.gzip = createGzip({ level: constants.Z_BEST_SPEED });
    this.file = createWriteStream(path);
    this.gzip.pipe(this.file);
    // Keep the first I/O error and rethrow it from the producer's side instead of crashing the process.
    const keep = (err: Error): void => {
      this.error ??= err;
    };
    this.gzip.on('error', keep);
    this.file.on('error', keep);
  }

  get needsDrain(): boolean {
    return this.gzip.writableNeedDrain;
  }

  writeLine(line: string): void {
    if (this.error) throw new Error(`writing ${this.path}: ${this.error.message}`);
    this.buffer.push(line);
    this.bufferedChars += line.length + 1;
    this.lines++;
    if (this.bufferedChars >= FLUSH_CHARS) this.flush();
  }

  writeJson(value: unknown): void {
    this.writeLine(JSON.stringify(value));
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const chunk = this.buffer.join('\n') + '\n';
    this.buffer = [];
    this.bufferedChars = 0;
    this.gzip.write(chunk);
  }

  /** Resolves once the gzip stream accepts writes again (checked live: a past 'drain' must not be awaited). */
  async drain(): Promise<void> {
    if (this.gzip.writableNeedDrain) await once(this.gzip, 'drain');
  }

  /** Flushes, closes and resolves with the compressed size in bytes. */
  async close(): Promise<number> {
    this.flush();
    this.gzip.end();
    if (!this.file.closed) await once(this.file, 'close');
    if (this.error) throw new Error(`writing ${this.path}: ${this.error.message}`);
    return this.file.bytesWritten;
  }
}
