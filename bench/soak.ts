// The soak at full size: a scaled day (≥ 24 simulated hours, ≥ 6 cycles) of org churn, engagement events, an
// extract and chaos (worker SIGKILL + restart, Redis restart with AOF, org outage REQUEST_LIMIT_EXCEEDED then 503)
// against `leadrank serve` and `leadrank worker --roles sync,writeback,batch,scheduler,privacy` as child processes, then
// the end-state checks. The harness is scoring-sidecar/test/support/soak.ts (also run small in CI by
// scoring-sidecar/test/soak.test.ts).
// Usage: npx tsx bench/soak.ts [--leads 2000] [--cycle 60s] [--hours 24] [--churn 20] [--events 10]
//          [--model <dir>|synthetic]
// Without --model, scoring is rules-only (LEADRANK_RULES_ONLY=1). `--model <dir>` serves and batches with a
// trained model directory (`leadrank model train --out <dir>`); `--model synthetic` first trains one on 3,000
// synthetic leads with the same training pipeline (python -m leadrank_training.train, as the API tests do).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseDuration } from '../scoring-sidecar/src/commands/sync.js';
import { trainSyntheticModel } from '../scoring-sidecar/test/api-test-kit.js';
import { runSoak } from '../scoring-sidecar/test/support/soak.js';

const opts = new Command()
  .option('--leads <n>', 'leads seeded in the org (EU)', (v) => Number(v), 2_000)
  .option(
    '--cycle <duration>',
    'wall time of one 4-hour cycle interval (one simulated hour = a quarter)',
    '60s',
  )
  .option('--hours <n>', 'simulated hours (≥ 24)', (v) => Number(v), 24)
  .option('--churn <n>', 'org changes per simulated hour', (v) => Number(v), 20)
  .option('--events <n>', 'leads sent engagement events per simulated hour', (v) => Number(v), 10)
  .option(
    '--model <dir>',
    "a trained model directory, or 'synthetic' to train one first (default: rules only)",
  )
  .parse(process.argv)
  .opts() as {
  leads: number;
  cycle: string;
  hours: number;
  churn: number;
  events: number;
  model?: string;
};

const cycleMs = parseDuration(opts.cycle, '--cycle');
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`;
const loadBefore = os.loadavg();
console.log(`machine: ${machine}, load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`);
let modelDir = opts.model;
if (modelDir === 'synthetic') {
  const t0 = Date.now();
  modelDir = await trainSyntheticModel(mkdtempSync(join(os.tmpdir(), 'leadrank-soak-model-')), 3000, 7);
  console.log(
    `trained a model on 3000 synthetic leads in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${modelDir}`,
  );
}
console.log(
  `options: ${JSON.stringify({ ...opts, cycleMs })}; scoring: ${modelDir ? `model ${modelDir}` : 'rules only (no model)'}`,
);

const r = await runSoak({
  leads: opts.leads,
  cycleMs,
  hours: opts.hours,
  churnPerHour: opts.churn,
  eventLeadsPerHour: opts.events,
  ...(modelDir ? { modelDir } : {}),
  log: (line) => console.log(line),
});
const loadAfter = os.loadavg();
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const durations = r.cycles.map((c) => c.durationMs).sort((a, b) => a - b);
console.log(`chaos: ${r.chaos.join('; ')}`);
console.log(`churn: ${JSON.stringify(r.churn)}`);
console.log(
  `cycles: ${r.cycles.length}, durations ${durations.map(s).join(', ')} (median ${s(durations[Math.floor(durations.length / 2)] ?? 0)})`,
);
console.log(
  `sync lag (org change -> worklist): n ${r.syncLagMs.n}, p50 ${s(r.syncLagMs.p50)}, p95 ${s(r.syncLagMs.p95)}, max ${s(r.syncLagMs.max)}`,
);
console.log(
  `event -> score in the org: n ${r.eventToOrgMs.n}, p50 ${s(r.eventToOrgMs.p50)}, p95 ${s(r.eventToOrgMs.p95)}, max ${s(r.eventToOrgMs.max)} (target p95 <= 60 s)`,
);
console.log(
  `end state: ${r.openLeads} open leads, ${r.mismatched.length} with Lead_Score__c equal to neither POST /v1/score ` +
    `answer, ${r.profileDiffers.length} whose by-Id answer (event rescore, store profile) differs from the with-fields one, ` +
    `${r.deadlineFallbacks} not compared (a deadline fallback to the rules), ` +
    `${r.removedInWorklist.length} removed leads in a worklist, ${r.syncMissed.length} org changes not synced, ` +
    `${r.lostWritebacks.length} write-backs lost, ` +
    `${r.duplicatedWritebacks.length} duplicated; dead letters: write-back ${r.writebackDeadLetters}, cycles ${r.cycleDeadLetters}`,
);
if (r.mismatchSample.length) console.log(`sample of differing leads: ${JSON.stringify(r.mismatchSample)}`);
console.log(`wall time ${s(r.wallMs)}; load average after ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`);
console.log(
  JSON.stringify({
    bench: 'soak',
    machine,
    loadAverage: { before: loadBefore, after: loadAfter },
    scoring: r.scoring,
    options: r.options,
    cycles: r.cycles,
    churn: r.churn,
    chaos: r.chaos,
    syncLagMs: r.syncLagMs,
    eventToOrgMs: r.eventToOrgMs,
    openLeads: r.openLeads,
    mismatched: r.mismatched.length,
    profileDiffers: r.profileDiffers.length,
    deadlineFallbacks: r.deadlineFallbacks,
    removedInWorklist: r.removedInWorklist.length,
    syncMissed: r.syncMissed,
    lostWritebacks: r.lostWritebacks.length,
    duplicatedWritebacks: r.duplicatedWritebacks.length,
    writebackDeadLetters: r.writebackDeadLetters,
    cycleDeadLetters: r.cycleDeadLetters,
    wallMs: r.wallMs,
  }),
);
process.exit(0);
