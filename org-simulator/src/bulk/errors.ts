// Stands in for Bulk API 2.0 error responses: HTTP status + [{errorCode, message}].
import type { NextFunction, Request, Response } from 'express';

/** An API error answered as Salesforce does: HTTP status + `[{"errorCode", "message"}]`. */
export class BulkApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = 'BulkApiError';
  }
}

export const jobNotFound = (): BulkApiError =>
  new BulkApiError(404, 'NOT_FOUND', 'The requested resource does not exist');

export const invalidJobState = (message: string): BulkApiError =>
  new BulkApiError(400, 'INVALIDJOBSTATE', message);

export function sendBulkError(res: Response, err: BulkApiError): void {
  res.status(err.status).json([{ errorCode: err.errorCode, message: err.message }]);
}

/** Express error handler for the bulk router: BulkApiError as JSON, body-parser errors as JSON_PARSER_ERROR. */
export function bulkErrorHandler(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  if (err instanceof BulkApiError) {
    sendBulkError(res, err);
    return;
  }
  if (isStoreError(err)) {
    sendBulkError(res, new BulkApiError(err.httpStatus, err.errorCode, err.message));
    return;
  }
  if (isBodyParserError(err)) {
    sendBulkError(res, new BulkApiError(400, 'JSON_PARSER_ERROR', err.message));
    return;
  }
  next(err);
}

function isBodyParserError(err: unknown): err is { type: string; message: string } {
  return typeof err === 'object' && err !== null && 'type' in err && err.type === 'entity.parse.failed';
}

/** The store's whole-call errors (OrgStoreError: errorCode + httpStatus), matched structurally. */
function isStoreError(err: unknown): err is { errorCode: string; httpStatus: number; message: string } {
  return (
    err instanceof Error &&
    typeof (err as { errorCode?: unknown }).errorCode === 'string' &&
    typeof (err as { httpStatus?: unknown }).httpStatus === 'number'
  );
}
