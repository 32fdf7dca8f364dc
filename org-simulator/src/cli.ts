// Stands in for creating an org (a scratch org or sandbox): the `org-sim` command that seeds and serves one.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import pino from 'pino';
import { loadOrgSchema } from './schema/index.js';
import { startOrgSimulator } from './server.js';
import { OrgStore, type OrgRegion } from './store/org-store.js';
import { seedFromDirectory } from './store/seed.js';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}
function rate(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
}
function ensureDir(dbFile: string): void {
  if (dbFile !== ':memory:') mkdirSync(dirname(dbFile), { recursive: true });
}

const regionOption = () =>
  new Option('--region <region>', 'US, EU or MIXED').choices(['US', 'EU', 'MIXED']).default('MIXED');
const program = new Command('org-simulator').description('Local Salesforce org simulator for Leadrank');

program
  .command('start')
  .description(
    'start the HTTP server; prints one JSON line with the URL (and a dev client when none is configured)',
  )
  .option('--port <port>', 'port (0 = random)', integer, 8787)
  .option('--host <host>', 'interface to bind', '127.0.0.1')
  .option('--db <file>', "SQLite file or ':memory:'", 'var/org/org.db')
  .addOption(regionOption())
  .option(
    '--metadata-dir <dirs...>',
    "a client's own SFDX metadata (objects/<Object>/fields/*.field-meta.xml) deployed on top of force-app",
  )
  .option('--seed-dir <dir>', 'load NDJSON(.gz) seed files from this directory first')
  .option('--api-version <version>', 'newest API version served', '62.0')
  .option('--latency-ms <ms>', 'latency added to every API response', integer, 0)
  .option('--error-rate-5xx <rate>', 'share of API requests answered 503/500', rate, 0)
  .option('--lock-error-rate <rate>', 'share of bulk rows failing with UNABLE_TO_LOCK_ROW', rate, 0)
  .option('--daily-api-requests <n>', 'DailyApiRequests allocation', integer, 100_000)
  .option('--fault-seed <n>', 'seed of the fault generator', integer, 42)
  .action(async (o: Record<string, string | number | undefined>) => {
    const logger = pino(
      { name: 'org-simulator', level: process.env.LOG_LEVEL ?? 'info' },
      pino.destination(2),
    );
    const dbFile = String(o.db);
    ensureDir(dbFile);
    const sim = await startOrgSimulator({
      port: Number(o.port),
      host: String(o.host),
      dbFile,
      region: o.region as OrgRegion,
      apiVersion: String(o.apiVersion),
      logger,
      ...(o.seedDir ? { seedDir: String(o.seedDir) } : {}),
      ...(o.metadataDir
        ? { schema: loadOrgSchema({ extraMetadataDirs: o.metadataDir as unknown as string[] }) }
        : {}),
      faults: {
        latencyMs: Number(o.latencyMs),
        errorRate5xx: Number(o.errorRate5xx),
        lockErrorRate: Number(o.lockErrorRate),
        dailyApiRequests: Number(o.dailyApiRequests),
        seed: Number(o.faultSeed),
      },
    });
    // The one stdout line callers parse; the dev secret is generated per start, never a fixed default.
    console.log(
      JSON.stringify({
        url: sim.url,
        region: sim.ctx.store.region,
        devClient: sim.devClient ?? null,
        seeded: sim.seeded ?? null,
      }),
    );
    const stop = () => {
      void sim.close().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('seed')
  .description('load NDJSON(.gz) seed files into a SQLite org database and print counts per file')
  .requiredOption('--from <dir>', 'directory with users.ndjson.gz, leads.ndjson.gz, ...')
  .option('--db <file>', 'SQLite file', 'var/org/org.db')
  .option(
    '--active-only',
    'load the active set only: leave out leads-historical.ndjson.gz and the history of closed leads',
    false,
  )
  .addOption(regionOption())
  .action(async (o: { from: string; db: string; region: OrgRegion; activeOnly: boolean }) => {
    ensureDir(o.db);
    const store = OrgStore.open({ file: o.db, schema: loadOrgSchema(), region: o.region });
    try {
      const started = Date.now();
      const skip = o.activeOnly ? ['leads-historical.ndjson.gz', 'opportunities.ndjson.gz'] : [];
      const counts = await seedFromDirectory(store, o.from, { skip });
      console.log(JSON.stringify({ db: o.db, counts, seconds: (Date.now() - started) / 1000 }));
    } finally {
      store.close();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
