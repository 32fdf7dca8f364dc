// Bulk API 2.0 throughput of the org simulator, driven through jsforce as a scoring cycle would:
// query N leads, then write the score fields back in update jobs of <= 100 MB of CSV each.
//   npx tsx bench/org-simulator-bulk.ts --leads 2500000
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { Connection } from 'jsforce';
import { QueryJobV2 } from 'jsforce/lib/api/bulk2.js';
import pino from 'pino';
import { startOrgSimulator } from '../org-simulator/src/server.js';

const { values: args } = parseArgs({
  options: {
    leads: { type: 'string', default: '100000' },
    // Salesforce caps an upload at 150 MB once base64-encoded, i.e. about 112 MB of CSV; the docs say stay under 100.
    'job-mb': { type: 'string', default: '100' },
  },
});
const opts = { leads: Number.parseInt(args.leads, 10), jobMb: Number(args['job-mb']) };
if (!Number.isSafeInteger(opts.leads) || opts.leads < 1)
  throw new Error('--leads must be a positive integer');

const N = opts.leads;
const POLL = { pollInterval: 250, pollTimeout: 60 * 60_000 };
const QUERY_FIELDS = 'Id, Status, LeadSource, Industry, NumberOfEmployees, Data_Region__c, SystemModstamp';
const STATUSES = ['Open - Not Contacted', 'Working - Contacted', 'Closed - Not Converted'];
const SOURCES = ['Web', 'Partner Referral', 'Trade Show', 'Purchased List'];
const INDUSTRIES = ['Technology', 'Finance', 'Healthcare', 'Manufacturing', 'Retail'];

let peakRss = process.memoryUsage().rss;
const rssSampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 200);

const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000));
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

const cpus = os.cpus();
console.log(
  `machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${mb(os.totalmem())} MB RAM, node ${process.version}`,
);

const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-org-sim-'));
const sim = await startOrgSimulator({
  port: 0,
  dbFile: path.join(dir, 'org.db'),
  logger: pino({ level: 'warn' }),
});

try {
  // 1. Seed N leads straight through the store (not part of the API figures).
  let t0 = performance.now();
  for (let i = 0; i < N; i += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, N - i) }, (_, k) => {
      const n = i + k;
      return {
        LastName: `Lead${n}`,
        Company: `Company ${n % 50_000}`,
        Status: STATUSES[n % STATUSES.length],
        LeadSource: SOURCES[n % SOURCES.length],
        Industry: INDUSTRIES[n % INDUSTRIES.length],
        NumberOfEmployees: 10 + (n % 5_000),
        Data_Region__c: n % 3 === 0 ? 'EU' : 'US',
      };
    });
    const failed = sim.ctx.store.insert('Lead', batch).filter((r) => !r.success);
    if (failed.length > 0) throw new Error(`seed insert failed: ${JSON.stringify(failed[0])}`);
  }
  const seedMs = performance.now() - t0;
  console.log(
    `seed: ${N} leads via store.insert in ${(seedMs / 1000).toFixed(1)} s (${rate(N, seedMs)} rows/s)`,
  );

  const { clientId, clientSecret } = sim.devClient!;
  const conn = new Connection({ oauth2: { clientId, clientSecret, loginUrl: sim.url }, version: '62.0' });
  await conn.authorize({ grant_type: 'client_credentials' });

  // 2. Query all leads. jsforce 3.10's bulk2.query() breaks on multi-page results (ERR_STREAM_WRITE_AFTER_END,
  // jsforce#1546), so the job runs through its QueryJobV2 and the pages are read by locator, streaming.
  t0 = performance.now();
  const queryJob = new QueryJobV2(conn, {
    bodyParams: { operation: 'query', query: `SELECT ${QUERY_FIELDS} FROM Lead` },
    pollingOptions: POLL,
  });
  await queryJob.open();
  await queryJob.poll();
  const ids: string[] = [];
  let locator: string | null = null;
  let pages = 0;
  do {
    const url: string = `${sim.url}/services/data/v62.0/jobs/query/${queryJob.id}/results${locator ? `?locator=${locator}` : ''}`;
    const res = await fetch(url, {
      headers: { Authorization: `Bearer ${conn.accessToken}`, Accept: 'text/csv' },
    });
    if (!res.ok || !res.body) throw new Error(`results page failed: ${res.status} ${await res.text()}`);
    const rows = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream).pipe(
      parse({ columns: true }),
    );
    for await (const row of rows as AsyncIterable<{ Id: string }>) ids.push(row.Id);
    pages += 1;
    locator = res.headers.get('sforce-locator');
    if (locator === 'null') locator = null;
  } while (locator);
  const queryMs = performance.now() - t0;
  if (ids.length !== N) throw new Error(`query returned ${ids.length} rows, expected ${N}`);
  console.log(
    `query: ${ids.length} rows in ${pages} pages, ${(queryMs / 1000).toFixed(1)} s (${rate(ids.length, queryMs)} rows/s)`,
  );
  await queryJob.delete();

  // 3. Write scores back in update jobs of at most --job-mb MB of CSV each.
  const header = 'Id,Lead_Score__c,Score_Band__c,Score_Reasons__c,Score_Source__c,Scored_At__c\n';
  const scoredAt = new Date().toISOString();
  const rowFor = (i: number) => {
    const score = (i * 7919) % 100;
    const band = score >= 80 ? 'A' : score >= 60 ? 'B' : score >= 40 ? 'C' : 'D';
    return `${ids[i]},${score},${band},"Visited pricing page 3x; Industry fit: high; Company size 200+",Model,${scoredAt}\n`;
  };
  const maxBytes = opts.jobMb * 1024 * 1024;
  /** Streams rows from `start` until the byte budget is reached; `end()` tells where it stopped. */
  function jobInput(start: number) {
    let next = start;
    async function* chunks() {
      let bytes = header.length;
      yield header;
      while (next < ids.length) {
        let chunk = '';
        for (let k = 0; k < 1_000 && next < ids.length; k++) {
          const row = rowFor(next);
          if (bytes + chunk.length + row.length > maxBytes) break;
          chunk += row;
          next += 1;
        }
        if (chunk === '') return;
        bytes += chunk.length;
        yield chunk;
      }
    }
    return { stream: Readable.from(chunks()), end: () => next };
  }

  t0 = performance.now();
  let updateJobs = 0;
  let processed = 0;
  let failedRows = 0;
  for (let start = 0; start < ids.length;) {
    const job = conn.bulk2.createJob({ object: 'Lead', operation: 'update' });
    await job.open();
    const input = jobInput(start);
    await job.uploadData(input.stream);
    await job.close();
    await job.poll(POLL.pollInterval, POLL.pollTimeout);
    const info = await job.check();
    processed += info.numberRecordsProcessed;
    failedRows += info.numberRecordsFailed;
    updateJobs += 1;
    console.log(
      `update job ${updateJobs}: rows ${start}..${input.end() - 1}, ${info.numberRecordsProcessed} processed, ` +
        `${info.numberRecordsFailed} failed, ${info.totalProcessingTime} ms processing`,
    );
    await job.delete();
    start = input.end();
  }
  const updateMs = performance.now() - t0;
  if (processed !== N || failedRows !== 0)
    throw new Error(`update processed ${processed}, failed ${failedRows}`);
  const scored = sim.ctx.store.count(
    sim.ctx.store.compileQuery('SELECT Id FROM Lead WHERE Scored_At__c != null'),
  );
  console.log(
    `update: ${processed} rows in ${updateJobs} jobs, ${(updateMs / 1000).toFixed(1)} s (${rate(processed, updateMs)} rows/s); ${scored} leads now scored`,
  );

  clearInterval(rssSampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  console.log(`peak RSS (sampled every 200 ms): ${mb(peakRss)} MB`);
  console.log(
    JSON.stringify({
      bench: 'org-simulator-bulk',
      leads: N,
      query_rows_per_s: rate(N, queryMs),
      update_rows_per_s: rate(processed, updateMs),
      update_jobs: updateJobs,
      peak_rss_mb: mb(peakRss),
    }),
  );
} finally {
  clearInterval(rssSampler);
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
