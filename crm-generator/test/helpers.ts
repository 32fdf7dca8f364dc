import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readNdjsonGz } from '../src/ndjson.js';

export async function readAll<T = Record<string, unknown>>(path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const row of readNdjsonGz<T>(path)) out.push(row);
  return out;
}

export async function readCsvGz(path: string): Promise<string[][]> {
  const text = gunzipSync(await readFile(path)).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(','));
}

/** Every file under dir (relative paths), sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}
