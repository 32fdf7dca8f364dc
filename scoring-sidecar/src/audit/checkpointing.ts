// `leadrank audit anchor`: verify the chains as they stand (beside a writer still appending), then sign
// their committed heads (HEAD.json's lines) into the next checkpoint of the anchor store. Run by the scheduler
// or an operator holding LEADRANK_AUDIT_SIGNING_KEY, never by the serving process: the writer's cost per append
// is unchanged.
import {
  checkpointDigest,
  signCheckpoint,
  type ChainBase,
  type Checkpoint,
  type CheckpointSigner,
} from './anchor.js';
import type { AnchorStore } from './anchor-store.js';
import { GENESIS_HASH } from './chain.js';
import { problemText, verifyAuditLog, type VerifyResult } from './verify.js';

export class AnchorRefused extends Error {
  override name = 'AnchorRefused';
  constructor(readonly result: VerifyResult) {
    super(`audit log NOT ok, not anchored: ${problemText(result.problem!)}`);
  }
}

export async function anchorAuditLog(opts: {
  dir: string;
  store: AnchorStore;
  signer: CheckpointSigner;
  now?: () => Date;
  /** New starts of chains whose expired head retention is about to remove (audit/expire.ts). */
  bases?: Record<string, ChainBase>;
}): Promise<{ checkpoint: Checkpoint; result: VerifyResult }> {
  const stored = await opts.store.list();
  // A log that no longer matches its last checkpoint is not re-anchored: that would bless the tampering.
  const result = await verifyAuditLog(opts.dir, {
    live: true,
    incremental: true,
    ...(stored.length > 0 ? { anchors: { store: opts.store, publicKey: opts.signer.publicKey } } : {}),
  });
  if (!result.ok) throw new AnchorRefused(result);
  const previous = stored.at(-1) as Checkpoint | undefined; // verified above
  const checkpoint = await signCheckpoint(
    {
      version: 1,
      number: stored.length + 1,
      prev: previous ? checkpointDigest(previous) : GENESIS_HASH,
      at: (opts.now?.() ?? new Date()).toISOString(),
      chains: Object.fromEntries(
        result.chains.map((c) => {
          // The committed line (HEAD's), never behind the previous anchor (HEAD can lag after a power cut).
          const before = previous?.chains[c.chain];
          const line = before && before.seq > c.committed.seq ? before : c.committed;
          // A start recorded once is carried by every later checkpoint (the removed head stays removed).
          const base = opts.bases?.[c.chain] ?? before?.base;
          return [
            c.chain,
            { seq: line.seq, hash: line.hash, segment: line.segment, ...(base ? { base } : {}) },
          ];
        }),
      ),
    },
    opts.signer,
  );
  await opts.store.append(checkpoint);
  return { checkpoint, result };
}
