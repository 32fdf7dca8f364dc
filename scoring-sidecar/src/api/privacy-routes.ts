// POST /v1/privacy/erasures and GET /v1/privacy/erasures/:id (docs/api.md "Erasure"): the erasure runs here, in
// the serving process, which holds the stores; the answer waits for it up to `waitMs`, then is 202 with the
// receipt id (the receipt is saved as pending before anything is removed, so GET shows its progress).
import type { Request, Response } from 'express';
import type { ErasureOutcome, ErasureReceipt, ErasureRequest } from '../privacy/index.js';
import { erasureRequestSchema, RegionMismatchError } from '../privacy/index.js';
import { ApiError, parseOr400 } from './errors.js';

export interface RoutePrivacy {
  erase(request: ErasureRequest): Promise<ErasureOutcome>;
  /** The receipt id a request will get (derived from the salted subject hash). */
  receiptIdOf(request: ErasureRequest): Promise<string>;
  receipt(id: string): Promise<ErasureReceipt | null>;
  /** How long POST waits for the erasure before answering 202 (default 10 s). */
  waitMs?: number;
}

const RECEIPT_ID = /^er_[0-9a-f]{24}$/;

export function erasureHandler(privacy: RoutePrivacy) {
  return async (req: Request, res: Response): Promise<void> => {
    if (!req.is('application/json'))
      throw new ApiError(415, 'unsupported_media_type', 'the body must be application/json');
    const request = parseOr400(erasureRequestSchema, req.body);
    const receiptId = await privacy.receiptIdOf(request);
    const running = privacy.erase(request);
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      running,
      new Promise<'pending'>(
        (resolve) => (timer = setTimeout(() => resolve('pending'), privacy.waitMs ?? 10_000)),
      ),
    ]).catch((error: unknown) => {
      if (error instanceof RegionMismatchError)
        throw new ApiError(400, 'invalid_request', `region: ${error.message}`, [
          { path: 'region', message: error.message },
        ]);
      throw error;
    });
    clearTimeout(timer);
    const location = `/v1/privacy/erasures/${receiptId}`;
    if (waited === 'pending') {
      running.catch(() => {}); // finishes in the background; its receipt says how
      res.status(202).setHeader('Location', location).json({ receiptId, status: 'pending' });
      return;
    }
    if (waited.kind === 'unknown')
      throw new ApiError(404, 'unknown_lead', 'no store of this deployment holds that lead: nothing erased');
    res
      .status(200)
      .setHeader('Location', location)
      .json({ receiptId, alreadyErased: waited.kind === 'already-erased', receipt: waited.receipt });
  };
}

export function receiptHandler(privacy: RoutePrivacy) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    if (!RECEIPT_ID.test(id))
      throw new ApiError(400, 'invalid_request', 'id: must be er_ and 24 hex digits', [
        { path: 'id', message: 'must be er_ and 24 hex digits' },
      ]);
    const receipt = await privacy.receipt(id);
    if (!receipt) throw new ApiError(404, 'receipt_not_found', 'no erasure receipt with that id');
    res.json(receipt);
  };
}
