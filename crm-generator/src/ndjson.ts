import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** Streams the objects of a gzip NDJSON file. */
export async function* readNdjsonGz<T = Record<string, unknown>>(path: string): AsyncGenerator<T> {
  const lines = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.length === 0) continue;
    try {
      yield JSON.parse(line) as T;
    } catch (err) {
      throw new Error(`${path}: invalid JSON on line ${n}: ${(err as Error).message}`);
    }
  }
}
