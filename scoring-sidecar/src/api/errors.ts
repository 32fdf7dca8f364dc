// Error answers: one JSON shape ({error: {code, message, requestId, issues?}}), 4xx for anything the caller
// can fix, never a 500 for bad input. Messages name fields and reasons, never the values sent.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { StoreUnavailable } from '../scoring/index.js';

export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
  }
}

/** "leads[3].fields.CreatedDate" from a zod path, with an optional prefix path. */
export function formatPath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

export function issuesOf(error: z.ZodError, prefix = ''): Issue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path, prefix), message: issue.message }));
}

export function validationError(issues: Issue[]): ApiError {
  const first = issues[0];
  const message = first ? `${first.path}: ${first.message}` : 'invalid request';
  return new ApiError(400, 'invalid_request', message, issues.slice(0, 20));
}

/** Parses with a compiled schema or throws a 400 naming the field path and the reason. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(issuesOf(result.error, prefix));
  return result.data;
}

export function regionRefusal(what: string, region: string, deployment: string): ApiError {
  return new ApiError(
    403,
    'region_refused',
    `${what} belongs to region ${region}; this is the ${deployment} deployment and does not accept it`,
  );
}

export function sendError(
  res: Response,
  status: number,
  code: string,
  message: string,
  issues?: Issue[],
): void {
  res.status(status).json({
    error: { code, message, requestId: String(res.locals.requestId ?? ''), ...(issues ? { issues } : {}) },
  });
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Last middleware: ApiError as is, body-parser errors as 400/413/415, anything else 500 (logged without data). */
export function errorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(error);
    if (error instanceof ApiError)
      return sendError(res, error.status, error.code, error.message, error.issues);
    // A store outage is no fault of the caller's and no bug: 503 naming the store, to retry shortly.
    if (error instanceof StoreUnavailable) {
      res.setHeader('Retry-After', '5');
      return sendError(res, 503, 'store_unavailable', error.message);
    }
    const parserError = error as BodyParserError;
    if (parserError.type === 'entity.too.large') {
      return sendError(res, 413, 'body_too_large', 'the request body is larger than the limit');
    }
    if (parserError.type === 'entity.parse.failed') {
      return sendError(res, 400, 'invalid_json', 'the request body is not valid JSON');
    }
    if (parserError.type === 'encoding.unsupported' || parserError.type === 'charset.unsupported') {
      return sendError(res, 415, 'unsupported_encoding', 'unsupported content encoding or charset');
    }
    if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
      return sendError(res, parserError.status, 'bad_request', 'the request could not be read');
    }
    logger.error(
      { requestId: res.locals.requestId, err: (error as Error)?.message, stack: (error as Error)?.stack },
      'unhandled error',
    );
    sendError(res, 500, 'internal_error', 'internal error');
  };
}
