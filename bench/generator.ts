// Generator throughput: `npx tsx bench/generator.ts --leads 1000000` (10 % active, 90 % historical).
import { cpus, totalmem, tmpdir } from 'node:os';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from '../crm-generator/src/generate.js';
import { listFiles } from '../crm-generator/test/helpers.js';

// node:util parseArgs: the root workspace resolves an old commander, the generator's own copy is not reachable here.
const { values } = parseArgs({
  options: {
    leads: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '42' },
    keep: { type: 'boolean', default: false },
  },
});
const opts = { leads: Number(values.leads), seed: Number(values.seed), keep: values.keep === true };
if (!Number.isInteger(opts.leads) || opts.leads < 10) throw new Error('--leads must be an integer ≥ 10');

const cpu = cpus();
console.log(
  `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`,
);
const active = Math.round(opts.leads * 0.1);
console.log(`generating ${opts.leads} leads (${active} active target, ${opts.leads - active} historical)`);

const dir = await mkdtemp(join(tmpdir(), 'leadrank-bench-'));
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 200);
const started = performance.now();
const manifest = await generateDataset({
  outDir: dir,
  seed: opts.seed,
  active,
  historical: opts.leads - active,
  dataEnd: '2026-11-24T00:00:00Z',
  euShare: 0.35,
  historyDays: 540,
});
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);

let bytes = 0;
for (const f of await listFiles(dir)) bytes += (await stat(join(dir, f))).size;
if (!opts.keep) await rm(dir, { recursive: true, force: true });
else console.log(`output kept in ${dir}`);

const events = manifest.counts['events.ndjson.gz'] ?? 0;
console.log(`leads:  ${opts.leads} in ${seconds.toFixed(1)} s = ${Math.round(opts.leads / seconds)} leads/s`);
console.log(`events: ${events} = ${Math.round(events / seconds)} events/s`);
console.log(
  `tasks: ${manifest.counts['tasks.ndjson.gz']}, accounts: ${manifest.counts['accounts.ndjson.gz']}`,
);
console.log(`bytes written: ${bytes} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
console.log(
  `peak RSS: ${(peakRss / 2 ** 20).toFixed(1)} MiB; Bayes AUC ${manifest.groundTruth.bayesAuc} on ${manifest.groundTruth.snapshots} snapshots`,
);
console.log(
  JSON.stringify({
    bench: 'generator',
    leads: opts.leads,
    events,
    seconds: Math.round(seconds * 10) / 10,
    leads_per_s: Math.round(opts.leads / seconds),
    events_per_s: Math.round(events / seconds),
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
  }),
);
