// What a Salesforce call can fail with, and which failures are worth another attempt.

/** An error answer of the REST or Bulk API 2.0 (`[{ errorCode, message }]` with an HTTP status). */
export class SalesforceError extends Error {
  override name = 'SalesforceError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(`${errorCode}: ${message}`);
  }
}

/** Error codes that say "the org is busy or unavailable, try again", whatever the operation. */
const TRANSIENT_CODES = new Set([
  'REQUEST_LIMIT_EXCEEDED', // daily allocation or concurrent long-running requests: clears with time
  'SERVER_UNAVAILABLE',
  'UNKNOWN_EXCEPTION',
  'REQUEST_RUNNING_TOO_LONG',
  'TIMEOUT',
]);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
/** Row locks: another transaction (a rep editing the lead) holds it; worth retrying a write. */
export const LOCK_CODE = 'UNABLE_TO_LOCK_ROW';
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

interface ErrorLike {
  name?: string;
  message?: string;
  errorCode?: string;
  code?: string;
  status?: number;
  cause?: unknown;
}

/** True for a dropped or refused connection, or an `AbortSignal.timeout` that fired. */
export function isNetworkError(error: unknown): boolean {
  for (let e = error as ErrorLike | undefined, depth = 0; e && depth < 4; e = e.cause as ErrorLike, depth++) {
    if (e.name === 'TimeoutError') return true;
    if (e.code && NETWORK_CODES.has(e.code)) return true;
    if (e.name === 'TypeError' && e.message === 'fetch failed') return true;
  }
  return false;
}

/**
 * The one retry rule of every Leadrank call to Salesforce: busy/unavailable answers (REQUEST_LIMIT_EXCEEDED,
 * 5xx), timeouts and network resets; UNABLE_TO_LOCK_ROW only for writes. Never a 4xx validation error
 * (INVALID_FIELD, MALFORMED_QUERY, ...): the same request would fail the same way.
 */
export function isRetryable(error: unknown, opts: { write?: boolean } = {}): boolean {
  const e = error as ErrorLike | null;
  if (!e) return false;
  if (e.errorCode === LOCK_CODE) return opts.write ?? false;
  if (e.errorCode && TRANSIENT_CODES.has(e.errorCode)) return true;
  if (e.errorCode === 'INVALID_SESSION_ID') return false; // renewed by the transport, not retried blindly
  if (typeof e.status === 'number' && TRANSIENT_STATUS.has(e.status)) return true;
  return isNetworkError(error);
}

/** Parses Salesforce's error body (JSON array, or a bare object) into a SalesforceError. */
export function errorFromBody(status: number, body: string): SalesforceError {
  try {
    const parsed = JSON.parse(body) as unknown;
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as
      { errorCode?: string; message?: string; error?: string; error_description?: string } | undefined;
    if (first && (first.errorCode || first.error))
      return new SalesforceError(
        status,
        first.errorCode ?? first.error!,
        first.message ?? first.error_description ?? '',
      );
  } catch {
    // not JSON: fall through with the raw text
  }
  return new SalesforceError(status, `HTTP_${status}`, body.slice(0, 500));
}
