// `leadrank audit stats`: what the log costs on disk, per score entry, raw and gzip-compressed (the size of a
// compressed cold-tier segment), over every chain under the root.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { listChains, listSegments } from './chain.js';

const gzipAsync = promisify(gzip);

export interface AuditLogStats {
  chains: number;
  segments: number;
  lines: number;
  scoreEntries: number;
  bytes: number;
  gzipBytes: number;
  bytesPerEntry: number;
  gzipBytesPerEntry: number;
}

export async function auditLogStats(dir: string): Promise<AuditLogStats> {
  const stats = { chains: 0, segments: 0, lines: 0, scoreEntries: 0, bytes: 0, gzipBytes: 0 };
  for (const chain of await listChains(dir)) {
    stats.chains++;
    for (const segment of await listSegments(chain.path)) {
      const data = await readFile(join(chain.path, segment));
      stats.segments++;
      stats.bytes += data.length;
      stats.gzipBytes += (await gzipAsync(data, { level: 6 })).length;
      const text = data.toString('utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        stats.lines++;
        if (line.includes('"kind":"score"')) stats.scoreEntries++;
      }
    }
  }
  const per = (n: number) => (stats.scoreEntries > 0 ? n / stats.scoreEntries : 0);
  return { ...stats, bytesPerEntry: per(stats.bytes), gzipBytesPerEntry: per(stats.gzipBytes) };
}
