// Stands in for nothing in Salesforce: buffers a query results page until its Sforce-Locator is known.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Holds one response body until its headers are known (a query page's Sforce-Locator comes from the last
 * row read): in memory up to `memoryLimit` bytes, then in a temp file, so a huge maxRecords never sits in RAM.
 */
export class Spool {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private file: WriteStream | undefined;

  constructor(
    private readonly filePath: string,
    private readonly memoryLimit = 32 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.bytes;
  }

  /** True once the body went to the temp file. */
  get spilled(): boolean {
    return this.file !== undefined;
  }

  async write(text: string): Promise<void> {
    const chunk = Buffer.from(text, 'utf8');
    this.bytes += chunk.length;
    if (!this.file && this.bytes <= this.memoryLimit) {
      this.chunks.push(chunk);
      return;
    }
    if (!this.file) {
      this.file = createWriteStream(this.filePath);
      for (const c of this.chunks) this.file.write(c);
      this.chunks = [];
    }
    if (!this.file.write(chunk)) await once(this.file, 'drain');
  }

  /** Sends everything to `out` (ending it) and frees the spool. */
  async pipeTo(out: Writable): Promise<void> {
    if (!this.file) {
      out.end(Buffer.concat(this.chunks));
      this.chunks = [];
      return;
    }
    this.file.end();
    await once(this.file, 'close');
    try {
      await pipeline(createReadStream(this.filePath), out);
    } finally {
      await this.discard();
    }
  }

  async discard(): Promise<void> {
    this.chunks = [];
    if (this.file) {
      this.file.destroy();
      this.file = undefined;
      await unlink(this.filePath).catch(() => undefined);
    }
  }
}
