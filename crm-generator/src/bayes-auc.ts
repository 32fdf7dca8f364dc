// Recomputes the Bayes-optimal ROC-AUC of a generated directory from its ground truth and events alone.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EVENT_TYPES, type EventType } from './catalog.js';
import { DAY_MS, parseDateTime } from './format.js';
import { FILES, type Manifest } from './generate.js';
import {
  HazardSchedule,
  bayesProbabilityFromCounts,
  snapshotLabel,
  standardSnapshotTimes,
  type LeadGroundTruth,
} from './ground-truth.js';
import { readNdjsonGz } from './ndjson.js';
import { hashUnit } from './rng.js';
import { rocAuc } from './roc-auc.js';

export interface BayesAucResult {
  horizonDays: number;
  bayesAuc: number;
  snapshots: number;
  positives: number;
  sampledLeads: number;
  meanPredicted: number;
}

export async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, FILES.manifest), 'utf8')) as Manifest;
}

/** Same snapshot design and lead sample as the generator; events must be grouped per lead in ground-truth order. */
export async function computeBayesAuc(dir: string, horizonDays?: number): Promise<BayesAucResult> {
  const manifest = await readManifest(dir);
  const params = manifest.groundTruth.params;
  const horizon = horizonDays ?? manifest.groundTruth.horizonDays;
  const dataEndMs = parseDateTime(manifest.dataEnd);
  const sampleRate = manifest.groundTruth.sampleRate;
  const events = readNdjsonGz<{ leadId: string; type: string; occurredAt: string }>(join(dir, FILES.events));
  let pending = await events.next();
  const scores: number[] = [];
  const labels: number[] = [];
  let sampledLeads = 0;
  let i = 0;
  for await (const truth of readNdjsonGz<LeadGroundTruth>(join(dir, FILES.groundTruth))) {
    const times: number[] = [];
    while (!pending.done && pending.value.leadId === truth.leadId) {
      const type = EVENT_TYPES.indexOf(pending.value.type as EventType);
      if (type < 0) throw new Error(`unknown event type ${pending.value.type}`);
      times.push(parseDateTime(pending.value.occurredAt) * 8 + type); // packs (time, type); times are in order
      pending = await events.next();
    }
    const index = i++;
    if (!(sampleRate >= 1 || hashUnit(manifest.seed, 0xa0c, index) < sampleRate)) continue;
    sampledLeads++;
    const createdMs = parseDateTime(truth.createdAt);
    const outcomeMs = truth.outcomeAt === null ? null : parseDateTime(truth.outcomeAt);
    const schedule = new HazardSchedule(createdMs, truth.eta, params);
    const counts = new Float64Array(EVENT_TYPES.length);
    let e = 0;
    for (const t of standardSnapshotTimes(createdMs, outcomeMs, dataEndMs, horizon)) {
      for (; e < times.length && Math.floor((times[e] ?? 0) / 8) <= t; e++) {
        const type = (times[e] ?? 0) % 8;
        counts[type] = (counts[type] ?? 0) + 1;
      }
      scores.push(
        bayesProbabilityFromCounts(
          schedule,
          truth.eventLogMultiplier,
          counts,
          (t - createdMs) / DAY_MS,
          horizon,
        ),
      );
      labels.push(snapshotLabel(truth.outcome, outcomeMs, t, horizon) ? 1 : 0);
    }
  }
  if (!pending.done) throw new Error(`events for lead ${pending.value.leadId} are not in ground-truth order`);
  const positives = labels.reduce((a, b) => a + b, 0);
  return {
    horizonDays: horizon,
    bayesAuc: rocAuc(scores, labels),
    snapshots: scores.length,
    positives,
    sampledLeads,
    meanPredicted: scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length),
  };
}
