// Stands in for the Bulk API 2.0 job data upload (PUT /batches) and its 150 MB base64 cap.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { BulkApiError } from './errors.js';

/** Size of `bytes` once base64-encoded: Salesforce applies its 150 MB upload cap to that size. */
export function base64Size(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * Streams a request body to `file` (never buffering it). Past `maxBase64Bytes` the partial file is removed,
 * the rest of the body is drained (so the client still reads our answer) and a 413 is thrown.
 */
export async function receiveUpload(body: Readable, file: string, maxBase64Bytes: number): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  let tooLarge = false;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (tooLarge) continue;
      if (base64Size(bytes) > maxBase64Bytes) {
        tooLarge = true;
        out.destroy();
        continue;
      }
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } catch (err) {
    out.destroy();
    await unlink(file).catch(() => undefined);
    throw err;
  }
  if (tooLarge) {
    await unlink(file).catch(() => undefined);
    throw new BulkApiError(
      413,
      'CLIENTINPUTERROR',
      `Failed to read request. Exceeded max size limit of ${maxBase64Bytes} (base64-encoded size)`,
    );
  }
  out.end();
  await once(out, 'close');
  return bytes;
}

/** Consumes a body we do not keep (a second upload to the same job). */
export async function drain(body: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}
