// Compute cost per region from measured CPU time (docs/architecture.md "Capacity plan", docs/design.md "Capacity
// and cost"): the batch cycle's wall time × the cores it had (an upper bound: the org simulator's share is
// included), the online path's CPU per request, and an instance price. The defaults are the figures
// `bench/batch.ts --leads 2500000` and `bench/online.ts` printed (docs/architecture.md, docs/api.md); pass
// `--batch-json <file>` to read the batch bench's last JSON line instead. The price is an input, not a measurement:
// AWS c7a.large on-demand in us-east-1 ($0.1027/h for 2 vCPU), the default. Prints the figures and a last JSON line.
//   npx tsx bench/cost.ts [--batch-json var/bench/batch.json] [--first-cycle-s 608] [--steady-cycle-s 186]
//     [--cores 2] [--leads 2500000] [--cycles-per-day 6] [--online-cpu-ms 0.59] [--online-rps 3500]
//     [--usd-per-hour 0.1027] [--vcpus 2] [--budget-per-record 0.002]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    'batch-json': { type: 'string' },
    'first-cycle-s': { type: 'string', default: '608' },
    'steady-cycle-s': { type: 'string', default: '186' },
    cores: { type: 'string', default: '2' },
    leads: { type: 'string', default: '2500000' },
    'cycles-per-day': { type: 'string', default: '6' },
    'online-cpu-ms': { type: 'string', default: '0.59' },
    'online-rps': { type: 'string', default: '3500' },
    'usd-per-hour': { type: 'string', default: '0.1027' },
    vcpus: { type: 'string', default: '2' },
    'budget-per-record': { type: 'string', default: '0.002' },
  },
});

function num(name: keyof typeof opts): number {
  const value = Number(opts[name]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

let firstCycleS = num('first-cycle-s');
let steadyCycleS = num('steady-cycle-s');
let leads = num('leads');
if (opts['batch-json']) {
  const lines = readFileSync(opts['batch-json'], 'utf8').trim().split('\n');
  const last = JSON.parse(lines[lines.length - 1]!) as {
    leads?: number;
    first_cycle_1w_s?: number;
    steady_1w_s?: number;
  };
  if (!last.first_cycle_1w_s || !last.steady_1w_s || !last.leads)
    throw new Error(`${opts['batch-json']}: the last line is not bench/batch.ts's JSON line`);
  ({ first_cycle_1w_s: firstCycleS, steady_1w_s: steadyCycleS, leads } = last as Required<typeof last>);
}
const cores = num('cores');
const cyclesPerDay = num('cycles-per-day');
const usdPerVcpuHour = num('usd-per-hour') / num('vcpus');
const usdPerCpuSecond = usdPerVcpuHour / 3600;
const onlineCpuMs = num('online-cpu-ms');
const onlineRps = num('online-rps');
const budget = num('budget-per-record');

const steadyCpuS = steadyCycleS * cores;
const firstCpuS = firstCycleS * cores;
const steadyCycleUsd = steadyCpuS * usdPerCpuSecond;
const firstCycleUsd = firstCpuS * usdPerCpuSecond;
const batchDayUsd = steadyCycleUsd * cyclesPerDay;
const perRecordSteady = steadyCycleUsd / leads;
const perRecordFirst = firstCycleUsd / leads;
const onlinePerScore = (onlineCpuMs / 1000) * usdPerCpuSecond;
const onlineCoresAtPeak = (onlineRps * onlineCpuMs) / 1000;

const sci = (x: number) => x.toExponential(1);
console.log(`price: $${usdPerVcpuHour.toFixed(4)} per vCPU-hour (input)`);
console.log(
  `batch, ${leads.toLocaleString('en-US')} leads: steady cycle ≤ ${steadyCpuS} CPU-s = $${steadyCycleUsd.toFixed(4)}, ` +
    `first cycle ≤ ${firstCpuS} CPU-s = $${firstCycleUsd.toFixed(4)}; ${cyclesPerDay} steady cycles a day = $${batchDayUsd.toFixed(3)}`,
);
console.log(
  `per scored record: steady ≤ $${sci(perRecordSteady)}, first cycle ≤ $${sci(perRecordFirst)} ` +
    `(budget $${budget}: ${sci(budget / perRecordSteady)}× under steady, ${sci(budget / perRecordFirst)}× first)`,
);
console.log(
  `online: ${onlineCpuMs} CPU-ms a score = $${sci(onlinePerScore)}; ${onlineRps.toLocaleString('en-US')} req/s needs ` +
    `${onlineCoresAtPeak.toFixed(2)} cores of sidecar CPU at that cost per request`,
);
console.log(
  JSON.stringify({
    bench: 'cost',
    usd_per_vcpu_hour: Number(usdPerVcpuHour.toFixed(4)),
    steady_cycle_cpu_s: steadyCpuS,
    first_cycle_cpu_s: firstCpuS,
    steady_cycle_usd: Number(steadyCycleUsd.toFixed(4)),
    batch_day_usd: Number(batchDayUsd.toFixed(3)),
    usd_per_record_steady: Number(perRecordSteady.toPrecision(2)),
    usd_per_record_first: Number(perRecordFirst.toPrecision(2)),
    usd_per_online_score: Number(onlinePerScore.toPrecision(2)),
    online_cores_at_peak: Number(onlineCoresAtPeak.toFixed(2)),
  }),
);
