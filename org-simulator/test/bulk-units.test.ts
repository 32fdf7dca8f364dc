import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { COLUMN_DELIMITERS, parseOptions, stringifyOptions } from '../src/bulk/csv-dialect.js';
import { stringify } from 'csv-stringify/sync';
import { canDelete, clientTransitionError, isFinal } from '../src/bulk/job-state.js';
import { formatRecordError, lockError } from '../src/bulk/record-error.js';
import { decodeLocator, encodeLocator, parseMaxRecords } from '../src/bulk/query-results.js';
import { Spool } from '../src/bulk/spool.js';
import { base64Size, receiveUpload } from '../src/bulk/upload.js';
import { BulkUsage } from '../src/bulk/usage.js';
import { BulkApiError } from '../src/bulk/errors.js';
import { formatJobDate, parseApiVersion } from '../src/bulk/job-info.js';

const tempDir = () => mkdtempSync(path.join(tmpdir(), 'bulk-units-'));

describe('CSV dialects', () => {
  it.each(Object.keys(COLUMN_DELIMITERS) as (keyof typeof COLUMN_DELIMITERS)[])(
    '%s round-trips values containing delimiters, quotes and newlines',
    (columnDelimiter) => {
      for (const lineEnding of ['LF', 'CRLF'] as const) {
        const dialect = { columnDelimiter, lineEnding };
        const rows = [
          ['Id', 'Description'],
          ['00Q1', `a${COLUMN_DELIMITERS[columnDelimiter]}b "quoted"\nnext line`],
        ];
        const text = stringify(rows, stringifyOptions(dialect));
        expect(text.endsWith(lineEnding === 'LF' ? '"\n' : '"\r\n')).toBe(true);
        expect(parse(text, parseOptions(dialect))).toEqual(rows);
      }
    },
  );
});

describe('job state machine', () => {
  it('lets a client close only an Open ingest job', () => {
    expect(clientTransitionError('ingest', 'Open', 'UploadComplete')).toBeNull();
    expect(clientTransitionError('ingest', 'InProgress', 'UploadComplete')).toMatch(/InProgress/);
    expect(clientTransitionError('ingest', 'JobComplete', 'Aborted')).toMatch(/JobComplete/);
    expect(clientTransitionError('ingest', 'Open', 'JobComplete')).toMatch(/Invalid job state/);
    expect(clientTransitionError('ingest', 'Open', 'Bogus')).toMatch(/Invalid job state/);
  });

  it('lets query jobs only be aborted while queued or running', () => {
    expect(clientTransitionError('query', 'UploadComplete', 'Aborted')).toBeNull();
    expect(clientTransitionError('query', 'InProgress', 'Aborted')).toBeNull();
    expect(clientTransitionError('query', 'UploadComplete', 'UploadComplete')).not.toBeNull();
    expect(clientTransitionError('query', 'Failed', 'Aborted')).not.toBeNull();
  });

  it('knows final and deletable states', () => {
    expect(['JobComplete', 'Failed', 'Aborted'].every((s) => isFinal(s as never))).toBe(true);
    expect(isFinal('InProgress')).toBe(false);
    expect(canDelete('Open')).toBe(false);
    expect(canDelete('InProgress')).toBe(false);
    expect(canDelete('UploadComplete')).toBe(true);
  });
});

describe('sf__Error formatting', () => {
  it('joins code, message and fields like Salesforce', () => {
    expect(
      formatRecordError([
        {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [LastName]',
          fields: ['LastName'],
        },
      ]),
    ).toBe('REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --');
    expect(formatRecordError([lockError('00Q5S0000000001ABC')])).toBe(
      'UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: 00Q5S0000000001ABC:--',
    );
  });
});

describe('rolling bulk usage', () => {
  it('counts within 24 hours and forgets older use', () => {
    let now = Date.UTC(2024, 0, 1);
    const usage = new BulkUsage({ dailyBatches: 3, dailyRecords: 100 }, () => now);
    usage.record('batches', 2);
    usage.record('records', 60);
    expect(usage.remainingBatches()).toBe(1);
    expect(usage.remainingRecords()).toBe(40);
    expect(usage.snapshot().DailyBulkApiBatches).toEqual({ Max: 3, Remaining: 1 });
    now += 23 * 3600_000;
    usage.record('batches');
    expect(usage.remainingBatches()).toBe(0);
    now += 2 * 3600_000; // the first two batches fall out of the window
    expect(usage.remainingBatches()).toBe(2);
    expect(usage.remainingRecords()).toBe(100);
  });
});

describe('query locators', () => {
  it('round-trip store cursors and mark the last page with "null"', () => {
    expect(encodeLocator(null)).toBe('null');
    const cursor = '{"after":"00Q5S000000001AAA"}';
    expect(decodeLocator(encodeLocator(cursor))).toBe(cursor);
    expect(decodeLocator(undefined)).toBeNull();
  });

  it('reject forged locators and bad maxRecords', () => {
    expect(() => decodeLocator('null')).toThrow(BulkApiError);
    expect(() => decodeLocator('!!!')).toThrow(BulkApiError);
    expect(parseMaxRecords(undefined, 50_000)).toBe(50_000);
    expect(parseMaxRecords('10000', 50_000)).toBe(10_000);
    expect(() => parseMaxRecords('0', 1)).toThrow(BulkApiError);
    expect(() => parseMaxRecords('ten', 1)).toThrow(BulkApiError);
  });
});

describe('job info helpers', () => {
  it('format dates and API versions as Salesforce does', () => {
    expect(formatJobDate(new Date(Date.UTC(2024, 0, 31, 9, 15)))).toBe('2024-01-31T09:15:00.000+0000');
    expect(parseApiVersion('v62.0', '60.0')).toBe(62);
    expect(parseApiVersion('garbage', '60.0')).toBe(60);
  });
});

describe('upload streaming', () => {
  it('writes the body to disk', async () => {
    const file = path.join(tempDir(), 'upload.csv');
    const body = 'Id,Name\n1,a\n'.repeat(1000);
    const bytes = await receiveUpload(Readable.from([Buffer.from(body)]), file, 1_000_000);
    expect(bytes).toBe(Buffer.byteLength(body));
    expect(readFileSync(file, 'utf8')).toBe(body);
  });

  it('rejects a body over the base64-encoded cap with 413 and removes the partial file', async () => {
    const file = path.join(tempDir(), 'upload.csv');
    const chunk = Buffer.alloc(1000, 'a');
    const limit = base64Size(2500);
    await expect(
      receiveUpload(Readable.from([chunk, chunk, chunk, chunk]), file, limit),
    ).rejects.toMatchObject({
      status: 413,
    });
    expect(existsSync(file)).toBe(false);
  });
});

describe('spool', () => {
  async function collect(spool: Spool): Promise<string> {
    const parts: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        parts.push(chunk);
        done();
      },
    });
    await spool.pipeTo(sink);
    return Buffer.concat(parts).toString();
  }

  it('keeps small bodies in memory and spills big ones to a file it removes', async () => {
    const dir = tempDir();
    const small = new Spool(path.join(dir, 'small'), 100);
    await small.write('abc');
    expect(small.spilled).toBe(false);
    expect(await collect(small)).toBe('abc');
    expect(existsSync(path.join(dir, 'small'))).toBe(false);

    const big = new Spool(path.join(dir, 'big'), 10);
    await big.write('0123456789');
    await big.write('abcdef');
    expect(big.spilled).toBe(true);
    expect(big.size).toBe(16);
    expect(await collect(big)).toBe('0123456789abcdef');
    expect(existsSync(path.join(dir, 'big'))).toBe(false);
  });
});
