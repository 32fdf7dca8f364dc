// One erasure: every target in turn, recorded in a receipt. Idempotent: a subject with a finished receipt gets
// that receipt back and nothing runs again; an incomplete one runs again (every target is idempotent).
import type { Region } from '../store/index.js';
import {
  receiptIdOf,
  type ErasureReceipt,
  type ErasureRequest,
  type ErasureStep,
  type ReceiptStore,
} from './receipts.js';
import type { ErasureTarget } from './targets.js';

export interface ErasureDeps {
  region: Region;
  targets: ErasureTarget[];
  receipts: ReceiptStore;
  now?: () => Date;
}

export type ErasureOutcome =
  | { kind: 'erased'; receipt: ErasureReceipt }
  | { kind: 'already-erased'; receipt: ErasureReceipt }
  | { kind: 'incomplete'; receipt: ErasureReceipt }
  /** No store held anything of the lead: nothing erased, no receipt kept. */
  | { kind: 'unknown' };

export class RegionMismatchError extends Error {
  override name = 'RegionMismatchError';
}

export async function eraseLead(request: ErasureRequest, deps: ErasureDeps): Promise<ErasureOutcome> {
  const now = deps.now ?? (() => new Date());
  if (request.region && request.region !== deps.region)
    throw new RegionMismatchError(
      `region ${request.region} is not this deployment's (${deps.region}): send it to the ${request.region} deployment`,
    );
  const subject = await deps.receipts.subjectHash(deps.region, request.id);
  const id = receiptIdOf(subject);
  const existing = await deps.receipts.get(id);
  if (existing?.status === 'done') return { kind: 'already-erased', receipt: existing };
  const receipt: ErasureReceipt = existing ?? {
    id,
    subject,
    region: deps.region,
    reason: request.reason,
    requestedAt: now().toISOString(),
    completedAt: null,
    status: 'pending',
    steps: [],
  };
  // Saved before anything is removed: a crash part way leaves a pending receipt that a new request resumes.
  await deps.receipts.save(receipt);
  const steps: ErasureStep[] = [];
  for (const target of deps.targets) {
    const at = now();
    try {
      const removed = await target.erase(request.id, { receipt: id, at });
      steps.push({ store: target.store, where: target.where, removed, at: at.toISOString() });
    } catch (error) {
      // The message only: errors here name stores and files, never the lead's data.
      const message = (error as Error).message.split(request.id).join('<lead>');
      steps.push({
        store: target.store,
        where: target.where,
        removed: null,
        at: at.toISOString(),
        error: message,
      });
    }
  }
  const failed = steps.some((s) => s.error !== undefined);
  const found = steps.some((s) => (s.removed ?? 0) > 0) || existing !== null;
  if (!failed && !found) {
    await deps.receipts.remove(id);
    return { kind: 'unknown' };
  }
  const done: ErasureReceipt = {
    ...receipt,
    steps: [...receipt.steps.filter((s) => s.error === undefined), ...steps],
    status: failed ? 'incomplete' : 'done',
    completedAt: failed ? null : now().toISOString(),
  };
  await deps.receipts.save(done);
  return { kind: failed ? 'incomplete' : 'erased', receipt: done };
}
