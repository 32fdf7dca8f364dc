// CLI: build a point-in-time training set from an org (SF_* credentials, see salesforce/org-connection.ts),
// an events file and the daily extracts.
//   npx tsx scoring-sidecar/src/commands/build-training-set.ts --out var/training/demo \
//     --events var/data/demo/events.ndjson.gz --extracts var/data/demo/extracts --data-end 2026-11-24T00:00:00Z
import type { EventType } from '../inputs/index.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type jsforce from 'jsforce';
import { connectToOrg, orgAuthFromEnv } from '../salesforce/index.js';
import { buildTrainingSet, type ActiveSpec, type BuildResult } from '../features/index.js';

export interface BuildCliOptions {
  out: string;
  events?: string;
  /** The spec to compute (default the active spec). */
  spec?: ActiveSpec;
  extracts?: string;
  dataEnd: Date;
  leadFilter?: string;
  /** A crm-generator output folder: adds its Bayes-optimal probabilities as the evaluation ceiling. */
  groundTruth?: string;
}

/** Bayes-optimal probabilities from the generator's ground truth (simulated data only; evaluation only). */
async function ceilingFromGroundTruth(dir: string) {
  const generator = await import('@leadrank/crm-generator');
  const truths = new Map<string, Parameters<typeof generator.bayesConversionProbability>[0]>();
  for await (const t of generator.readNdjsonGz<{
    leadId: string;
    createdAt: string;
    eta: number;
    eventLogMultiplier: number;
  }>(join(dir, 'ground-truth.ndjson.gz'))) {
    truths.set(t.leadId, t);
  }
  return (
    leadId: string,
    events: readonly { type: EventType; occurredAtMs: number }[],
    t: number,
    horizonDays: number,
  ) => {
    const truth = truths.get(leadId);
    if (!truth) return null;
    const observed = events.map((e) => ({
      type: e.type,
      occurredAt: new Date(e.occurredAtMs).toISOString(),
    }));
    return generator.bayesConversionProbability(truth, observed, t, horizonDays);
  };
}

export async function buildFromOrg(conn: jsforce.Connection, o: BuildCliOptions): Promise<BuildResult> {
  return buildTrainingSet(
    { conn, eventsFile: o.events, extractsDir: o.extracts, leadFilter: o.leadFilter },
    o.out,
    {
      dataEnd: o.dataEnd,
      ...(o.spec ? { spec: o.spec } : {}),
      ...(o.groundTruth ? { ceiling: await ceilingFromGroundTruth(o.groundTruth) } : {}),
    },
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      events: { type: 'string' },
      extracts: { type: 'string' },
      'data-end': { type: 'string' },
      'lead-filter': { type: 'string' },
      'ground-truth': { type: 'string' },
    },
  });
  const missing = ['out', 'events', 'data-end'].filter((k) => !values[k as keyof typeof values]);
  if (missing.length) {
    console.error(`missing --${missing.join(', --')}`);
    process.exit(2);
  }
  const dataEnd = new Date(values['data-end']!);
  if (Number.isNaN(dataEnd.getTime())) {
    console.error(`--data-end is not an ISO date: ${values['data-end']}`);
    process.exit(2);
  }
  const conn = await connectToOrg(orgAuthFromEnv());
  const started = Date.now();
  const result = await buildFromOrg(conn, {
    out: values.out!,
    events: values.events!,
    extracts: values.extracts,
    dataEnd,
    leadFilter: values['lead-filter'],
    groundTruth: values['ground-truth'],
  });
  const seconds = (Date.now() - started) / 1000;
  console.log(
    JSON.stringify({
      ...result,
      spec: result.spec.hash,
      seconds,
      snapshotsPerSecond: Math.round(result.snapshots / seconds),
    }),
  );
}
