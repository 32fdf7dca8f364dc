// Stands in for REST API error responses: [{message, errorCode, fields}] with the HTTP status.
import type { ErrorRequestHandler, Response } from 'express';
import { OrgStoreError, SoqlError } from '../store/org-store.js';

/** A REST error answered as Salesforce does: `[{ message, errorCode, fields? }]` with an HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields?: string[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendApiError(
  res: Response,
  status: number,
  errorCode: string,
  message: string,
  fields?: string[],
): void {
  res.status(status).json([{ message, errorCode, ...(fields && fields.length > 0 ? { fields } : {}) }]);
}

/** Maps thrown errors to Salesforce's error bodies; unexpected errors become 500 UNKNOWN_EXCEPTION. */
export function restErrorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof ApiError) return sendApiError(res, err.status, err.errorCode, err.message, err.fields);
    if (err instanceof SoqlError) return sendApiError(res, 400, err.errorCode, err.message);
    if (err instanceof OrgStoreError) return sendApiError(res, err.httpStatus, err.errorCode, err.message);
    const bodyError = err as { type?: string; status?: number; message?: string };
    if (bodyError.type === 'entity.parse.failed') {
      return sendApiError(
        res,
        400,
        'JSON_PARSER_ERROR',
        `Unexpected character in JSON body: ${bodyError.message ?? ''}`,
      );
    }
    if (bodyError.type === 'entity.too.large')
      return sendApiError(res, 413, 'REQUEST_ENTITY_TOO_LARGE', 'request too large');
    log(err);
    sendApiError(
      res,
      500,
      'UNKNOWN_EXCEPTION',
      'An unexpected error occurred. Please include this ErrorId if you contact support',
    );
  };
}
