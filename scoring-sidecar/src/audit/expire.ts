// Retention of the audit log: a chain's expired head (whole segments of days before the cutoff) is removed
// only once a signed checkpoint covers it, and that checkpoint records where the chain now starts (its
// `base`), so `verify` with the public key still passes afterwards while a cut tail, or a head removed beyond
// the recorded start, is still reported. Never removed: a chain's last segment, and the segment holding its
// anchored line (the next incremental anchoring starts there).
import { readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChainBase, CheckpointSigner } from './anchor.js';
import { verifyCheckpoints } from './anchor.js';
import type { AnchorStore } from './anchor-store.js';
import { listChains, listSegments, type ChainLine } from './chain.js';
import { anchorAuditLog } from './checkpointing.js';

export interface ExpiredChain {
  chain: string;
  /** Segments removed (or, dry run, to remove), oldest first. */
  segments: string[];
  /** Where the chain starts afterwards. */
  base: ChainBase;
}

export interface AuditExpiry {
  /** UTC day: segments of earlier days are expired. */
  cutoffDay: string;
  chains: ExpiredChain[];
  /** Checkpoint that recorded the new starts (null: dry run, or nothing to remove). */
  checkpoint: number | null;
}

async function firstLine(path: string): Promise<ChainLine> {
  const text = await readFile(path, 'utf8');
  return JSON.parse(text.slice(0, text.indexOf('\n'))) as ChainLine;
}

/**
 * Removes every chain's segments of days before `cutoff`. First anchors the log as it stands (verified, like
 * `audit anchor`), so all that is removed is covered; then signs a checkpoint with the new starts; then
 * removes the files. A crash in between leaves more than needed, never less: the next run removes the rest.
 */
export async function expireAuditSegments(o: {
  dir: string;
  store: AnchorStore;
  signer: CheckpointSigner;
  cutoff: Date;
  dryRun?: boolean;
  now?: () => Date;
}): Promise<AuditExpiry> {
  const cutoffDay = o.cutoff.toISOString().slice(0, 10);
  const latest = o.dryRun
    ? verifyCheckpoints(await o.store.list(), o.signer.publicKey)
    : (
        await anchorAuditLog({
          dir: o.dir,
          store: o.store,
          signer: o.signer,
          ...(o.now ? { now: o.now } : {}),
        })
      ).checkpoint;
  const chains: ExpiredChain[] = [];
  for (const chain of await listChains(o.dir)) {
    const anchored = latest?.chains[chain.id];
    if (!anchored) continue; // never anchored: nothing of it is covered yet
    const segments = await listSegments(chain.path);
    const keepFrom = segments.findIndex(
      (s, i) => s.slice(0, 10) >= cutoffDay || s === anchored.segment || i === segments.length - 1,
    );
    if (keepFrom <= 0) continue;
    const first = await firstLine(join(chain.path, segments[keepFrom]!));
    chains.push({
      chain: chain.id,
      segments: segments.slice(0, keepFrom),
      base: { seq: first.seq, prev: first.prev, segment: segments[keepFrom]! },
    });
  }
  if (o.dryRun || chains.length === 0) return { cutoffDay, chains, checkpoint: null };
  const { checkpoint } = await anchorAuditLog({
    dir: o.dir,
    store: o.store,
    signer: o.signer,
    bases: Object.fromEntries(chains.map((c) => [c.chain, c.base])),
    ...(o.now ? { now: o.now } : {}),
  });
  const byId = new Map((await listChains(o.dir)).map((c) => [c.id, c.path]));
  for (const c of chains) {
    const path = byId.get(c.chain)!;
    for (const segment of c.segments) await rm(join(path, segment), { force: true });
    for (const day of new Set(c.segments.map((s) => s.slice(0, 10))))
      await rmdir(join(path, day)).catch(() => {}); // only when empty: a day partly kept stays
  }
  return { cutoffDay, chains, checkpoint: checkpoint.number };
}
