// One retention run over a region's stores: each store's data older than its period in config/retention.json is
// removed (or, dry run, counted). Called by `leadrank retention run` and by the scheduler's daily job (under the
// region's governance lease). Score_History__c is deleted in Salesforce by the Apex ScoreHistoryRetention job;
// the run reports its period next to the configured one.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expireAuditSegments, type AnchorStore, type CheckpointSigner } from '../audit/index.js';
import type { ExperimentStore } from '../experiments/index.js';
import type { MonitoringHistory } from '../monitoring/index.js';
import type { Region } from '../store/index.js';
import type { DeadLetterStore } from '../writeback/index.js';
import type { RetainedStore, RetentionConfig } from './config.js';

export interface RetentionTargets {
  region: Region;
  /** The audit root and what anchors it; without a signer no audit segment is removed. */
  audit?: { dir: string; store: AnchorStore; signer: CheckpointSigner | null } | null;
  /** `<exportsDir>/<region>/<YYYY-MM-DD>/` (Parquet) and `<reportsDir>/<region>/<cycleId>.json`. */
  exportsDir?: string | null;
  reportsDir?: string | null;
  /** `<trainingSetsDir>/<region>/<YYYYMMDDTHHMMSSZ>/` (`leadrank training-set build --region`). */
  trainingSetsDir?: string | null;
  experiments?: ExperimentStore | null;
  monitoring?: MonitoringHistory | null;
  deadLetters?: DeadLetterStore | null;
  /** Score_History__c's period in the org (Scoring_Setting__mdt), when known. */
  orgHistoryDays?: number | null;
}

export interface StoreOutcome {
  store: RetainedStore;
  days: number;
  /** Data before this instant is expired. */
  cutoff: string;
  /** Items removed (dry run: that would be), by kind. */
  removed: Record<string, number>;
  /** Why nothing was done, when so. */
  skipped?: string;
}

export interface RetentionReport {
  region: Region;
  at: string;
  dryRun: boolean;
  stores: StoreOutcome[];
}

const DAY_MS = 86_400_000;
const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;
/** A cycle id or training-set folder: `<…>YYYYMMDDTHHMMSSZ`. */
const COMPACT_INSTANT = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/;

function instantOf(name: string): number | null {
  const m = COMPACT_INSTANT.exec(name);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : null;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function runRetention(
  config: RetentionConfig,
  t: RetentionTargets,
  o: { now?: Date; dryRun?: boolean } = {},
): Promise<RetentionReport> {
  const now = o.now ?? new Date();
  const dryRun = o.dryRun ?? false;
  const cutoffOf = (store: RetainedStore) => new Date(now.getTime() - config.days[store] * DAY_MS);
  const outcome = (
    store: RetainedStore,
    removed: Record<string, number>,
    skipped?: string,
  ): StoreOutcome => ({
    store,
    days: config.days[store],
    cutoff: cutoffOf(store).toISOString(),
    removed,
    ...(skipped ? { skipped } : {}),
  });
  const stores: StoreOutcome[] = [];

  // Audit segments: whole, only once anchored (audit/expire.ts).
  if (!t.audit) stores.push(outcome('auditSegments', {}, 'no audit log configured'));
  else if (!t.audit.signer)
    stores.push(
      outcome(
        'auditSegments',
        {},
        'no LEADRANK_AUDIT_SIGNING_KEY: segments are removed only under a signed checkpoint',
      ),
    );
  else {
    const expiry = await expireAuditSegments({
      dir: t.audit.dir,
      store: t.audit.store,
      signer: t.audit.signer,
      cutoff: cutoffOf('auditSegments'),
      dryRun,
      now: () => now,
    });
    const removed: Record<string, number> = {};
    for (const c of expiry.chains) removed[`segments ${c.chain || '(root)'}`] = c.segments.length;
    stores.push(outcome('auditSegments', removed));
  }

  // Exports: the day folders of Parquet exports, and the cycle reports (named by their cycle's start).
  {
    const cutoff = cutoffOf('exports');
    const removed = { days: 0, reports: 0 };
    if (t.exportsDir) {
      const dir = join(t.exportsDir, t.region);
      for (const day of (await entries(dir)).filter((d) => DAY_DIR.test(d))) {
        if (Date.parse(`${day}T00:00:00Z`) + DAY_MS > cutoff.getTime()) continue;
        removed.days++;
        if (!dryRun) await rm(join(dir, day), { recursive: true, force: true });
      }
    }
    if (t.reportsDir) {
      const dir = join(t.reportsDir, t.region);
      for (const file of (await entries(dir)).filter((f) => f.endsWith('.json'))) {
        const at = instantOf(file) ?? (await stat(join(dir, file))).mtimeMs;
        if (at >= cutoff.getTime()) continue;
        removed.reports++;
        if (!dryRun) await rm(join(dir, file), { force: true });
      }
    }
    stores.push(outcome('exports', removed, t.exportsDir || t.reportsDir ? undefined : 'no exports folder'));
  }

  // Training sets: folders named by their build instant.
  {
    const cutoff = cutoffOf('trainingSets');
    const removed = { sets: 0 };
    if (t.trainingSetsDir) {
      const dir = join(t.trainingSetsDir, t.region);
      for (const name of await entries(dir)) {
        const at = instantOf(name);
        if (at === null || at >= cutoff.getTime()) continue;
        removed.sets++;
        if (!dryRun) await rm(join(dir, name), { recursive: true, force: true });
      }
    }
    stores.push(outcome('trainingSets', removed, t.trainingSetsDir ? undefined : 'no training-set folder'));
  }

  stores.push(
    t.experiments
      ? outcome(
          'experimentData',
          await t.experiments.purgeLeadRowsBefore(cutoffOf('experimentData').toISOString(), dryRun),
        )
      : outcome('experimentData', {}, 'no experiment store'),
  );

  // Score_History__c: the org's own job deletes it; say when its period differs from the configured one.
  stores.push(
    outcome(
      'scoreHistory',
      {},
      t.orgHistoryDays === undefined || t.orgHistoryDays === null
        ? 'deleted in Salesforce by ScoreHistoryRetention (Scoring_Setting__mdt History_Retention_Days__c)'
        : t.orgHistoryDays === config.days.scoreHistory
          ? `deleted in Salesforce by ScoreHistoryRetention after ${t.orgHistoryDays} days, as configured`
          : `MISMATCH: the org's ScoreHistoryRetention keeps ${t.orgHistoryDays} days, config/retention.json says ${config.days.scoreHistory}`,
    ),
  );

  stores.push(
    t.deadLetters
      ? outcome('deadLetters', {
          letters: await t.deadLetters.expireBefore(cutoffOf('deadLetters').toISOString(), dryRun),
        })
      : outcome('deadLetters', {}, 'no dead-letter store'),
  );

  stores.push(
    t.monitoring
      ? outcome(
          'monitoring',
          await t.monitoring.purgeBefore(t.region, cutoffOf('monitoring').toISOString().slice(0, 10), dryRun),
        )
      : outcome('monitoring', {}, 'no monitoring history'),
  );

  return { region: t.region, at: now.toISOString(), dryRun, stores };
}
