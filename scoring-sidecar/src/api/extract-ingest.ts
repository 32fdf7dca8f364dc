// POST /v1/extracts/:kind: an ERP, marketing or dated context extract streamed (CSV or NDJSON) into the online store.
// Nothing is half-written: pass 1 validates every row while the body streams in, spooling validated rows
// to a temporary file (memory stays flat however large the extract); only when the whole body is valid does
// pass 2 stream the spool into the store, in chunks. A bad row fails the request naming its line and field.
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { finished, Transform, type Readable } from 'node:stream';
import { once } from 'node:events';
import { parse as parseCsv } from 'csv-parse';
import {
  contextDateTooLate,
  erpExtractRowSchema,
  marketingExtractRowSchema,
  MAX_CONTEXT_LEAD_DAYS,
  parseContextRow,
  type ContextDeclarations,
  type ContextRow,
  type ErpExtractRow,
  type MarketingExtractRow,
} from '../inputs/index.js';
import type { OnlineFeatureStore, Region } from '../store/index.js';
import { ApiError, formatPath } from './errors.js';
import { extractRowRegionError } from './region-guard.js';

export type ExtractKind = 'erp' | 'marketing' | 'context';
export type ExtractFormat = 'csv' | 'ndjson';

export interface IngestOptions {
  store: OnlineFeatureStore;
  region: Region;
  maxBytes: number;
  writeChunkRows: number;
  now: () => number;
  /** The contexts the active spec declares: a context row is checked against them (kind "context" only). */
  contexts?: ContextDeclarations;
  /** Monitoring hook: each row that passed validation (parsed values), e.g. for value-range checks. */
  onValidRow?: (row: Readonly<Record<string, unknown>>) => void;
}

export interface IngestResult {
  rows: number;
  extractDates: { from: string; to: string } | null;
}

const SCHEMAS = { erp: erpExtractRowSchema, marketing: marketingExtractRowSchema } as const;

type RowCheck =
  { ok: true; row: { date: string; value: unknown } } | { ok: false; field: string; message: string };

/** The row checker of one kind: the parsed row and its date (extract_date, or a context row's effective_from). */
function rowChecker(
  kind: ExtractKind,
  contexts: ContextDeclarations,
): (raw: Record<string, unknown>) => RowCheck {
  if (kind === 'context')
    return (raw) => {
      const r = parseContextRow(raw, contexts);
      return r.ok ? { ok: true, row: { date: r.row.effective_from, value: r.row } } : r;
    };
  const schema = SCHEMAS[kind];
  return (raw) => {
    const parsed = schema.safeParse(raw);
    if (parsed.success) return { ok: true, row: { date: parsed.data.extract_date, value: parsed.data } };
    const issue = parsed.error.issues[0]!;
    return { ok: false, field: formatPath(issue.path), message: issue.message };
  };
}

export function extractFormatOf(contentType: string | undefined): ExtractFormat | null {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'text/csv') return 'csv';
  if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl')
    return 'ndjson';
  return null;
}

function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes)
        done(new ApiError(413, 'body_too_large', `the extract is larger than ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
}

/** Raw records with their line numbers, from CSV (header row) or NDJSON. */
async function* records(
  body: Readable,
  format: ExtractFormat,
): AsyncGenerator<{ line: number; raw: unknown }> {
  if (format === 'csv') {
    const parser = body.pipe(
      parseCsv({
        columns: true,
        info: true,
        bom: true,
        skip_empty_lines: true,
        trim: true,
        relax_column_count: false,
      }),
    );
    body.on('error', (error) => parser.destroy(error));
    try {
      for await (const rec of parser as AsyncIterable<{
        record: Record<string, string>;
        info: { lines: number };
      }>) {
        yield { line: rec.info.lines, raw: rec.record };
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const e = error as { code?: string; lines?: number };
      throw new ApiError(
        400,
        'invalid_extract',
        `line ${e.lines ?? '?'}: malformed CSV (${e.code ?? 'parse error'})`,
      );
    }
    return;
  }
  // Split by hand over the stream's own async iterator: it rethrows the stream's errors (e.g. the byte limit).
  let line = 0;
  let rest = '';
  const parseLine = (text: string): { line: number; raw: unknown } | null => {
    line++;
    if (text.trim() === '') return null;
    try {
      return { line, raw: JSON.parse(text) };
    } catch {
      throw new ApiError(400, 'invalid_extract', `line ${line}: not a JSON object`);
    }
  };
  body.setEncoding('utf8');
  for await (const chunk of body as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) {
      const rec = parseLine(text);
      if (rec) yield rec;
    }
  }
  const last = parseLine(rest);
  if (last) yield last;
}

async function writeLine(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

export async function ingestExtract(
  body: Readable,
  kind: ExtractKind,
  format: ExtractFormat,
  opts: IngestOptions,
): Promise<IngestResult> {
  const check = rowChecker(kind, opts.contexts ?? {});
  const today = new Date(opts.now()).toISOString().slice(0, 10);
  const dir = await mkdtemp(join(tmpdir(), 'leadrank-extract-'));
  const spoolPath = join(dir, 'rows.ndjson');
  let rows = 0;
  let from: string | null = null;
  let to: string | null = null;
  try {
    // Pass 1: validate everything, spool the validated rows.
    const spool = createWriteStream(spoolPath);
    let spooled = false;
    try {
      // pipe() does not forward errors: without this, a client that aborts the upload leaves the loop below
      // waiting forever for the end of a body that never comes, and the spool file open (issue 13).
      const limited = body.pipe(byteLimit(opts.maxBytes));
      const stopWatching = finished(body, (error) => {
        if (error) limited.destroy(new ApiError(400, 'upload_aborted', 'the client aborted the upload'));
      });
      try {
        for await (const { line, raw } of records(limited, format)) {
          if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
            throw new ApiError(400, 'invalid_extract', `line ${line}: not an object`);
          }
          const refused = extractRowRegionError(raw as Record<string, unknown>, line, opts.region);
          if (refused) throw refused;
          const parsed = check(raw as Record<string, unknown>);
          if (!parsed.ok) {
            throw new ApiError(400, 'invalid_extract', `line ${line}: ${parsed.field}: ${parsed.message}`, [
              { path: `line ${line}: ${parsed.field}`, message: parsed.message },
            ]);
          }
          const date = parsed.row.date;
          // A daily extract is dated at most today; a context row may be announced ahead (it takes effect then).
          if (kind !== 'context' && date > today) {
            throw new ApiError(
              400,
              'invalid_extract',
              `line ${line}: extract_date: is after today (${today}, UTC)`,
            );
          }
          if (kind === 'context' && contextDateTooLate(date, opts.now())) {
            throw new ApiError(
              400,
              'invalid_extract',
              `line ${line}: effective_from: is more than ${MAX_CONTEXT_LEAD_DAYS} days after today (${today}, UTC)`,
            );
          }
          if (from === null || date < from) from = date;
          if (to === null || date > to) to = date;
          rows++;
          const value = parsed.row.value as Record<string, unknown>;
          opts.onValidRow?.(kind === 'context' ? (value as unknown as ContextRow).values : value);
          await writeLine(spool, `${JSON.stringify(value)}\n`);
        }
      } finally {
        stopWatching();
      }
      spooled = true;
    } finally {
      // On failure destroy, not end: after an abort the spool may be waiting for a 'drain' that never comes.
      if (spooled) spool.end();
      else spool.destroy();
      if (!spool.closed) await once(spool, 'close');
    }

    // Pass 2: the whole extract is valid; write it in chunks (each write is idempotent: newest extract_date wins;
    // a context row replaces only the row of its own context, key and effective_from).
    let chunk: unknown[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      if (kind === 'erp') await opts.store.putErpRows(chunk as ErpExtractRow[]);
      else if (kind === 'marketing') await opts.store.putMarketingRows(chunk as MarketingExtractRow[]);
      else await opts.store.putContextRows(chunk as ContextRow[]);
      chunk = [];
    };
    const spoolLines = createInterface({ input: createReadStream(spoolPath), crlfDelay: Infinity });
    for await (const text of spoolLines) {
      chunk.push(JSON.parse(text));
      if (chunk.length >= opts.writeChunkRows) await flush();
    }
    await flush();
    return { rows, extractDates: from !== null && to !== null ? { from, to } : null };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
