// Stands in for the request context Bulk API 2.0 reads: calling user and API version.
import type { Request, Response } from 'express';
import { makeId } from '../ids.js';
import { parseApiVersion } from './job-info.js';

const FALLBACK_USER_ID = makeId('005', 1);

/** The authenticated user's Id when the auth middleware exposes one (res.locals), else a fixed integration user. */
export function createdById(res: Response): string {
  const locals = res.locals as Record<string, unknown>;
  for (const key of ['userId', 'user_id']) {
    if (typeof locals[key] === 'string') return locals[key];
  }
  const session = locals.session as { userId?: unknown } | undefined;
  if (typeof session?.userId === 'string') return session.userId;
  return FALLBACK_USER_ID;
}

/** The job's API version from the mount path `/services/data/:version/jobs`, e.g. 62 for v62.0. */
export function requestApiVersion(req: Request, fallback: string): number {
  return parseApiVersion((req.params as Record<string, string | undefined>).version, fallback);
}
