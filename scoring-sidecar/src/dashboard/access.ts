// Who may open the RevOps dashboard. It is for RevOps and the ML team, not for API callers, so API bearer
// tokens do not open it: HTTP Basic against LEADRANK_DASHBOARD_USERS (JSON [{"user","passwordSha256"}], hashes
// only, like LEADRANK_CLIENTS), or open without credentials only when the sidecar listens on loopback and no user
// is configured (a developer's machine, the demo). Otherwise the dashboard is not mounted at all.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { z } from 'zod';

const usersSchema = z
  .array(
    z.strictObject({
      user: z.string().min(1).max(80),
      passwordSha256: z.string().regex(/^[0-9a-f]{64}$/, 'the hex sha256 of the password'),
    }),
  )
  .min(1);

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export type DashboardAccess =
  | { kind: 'basic'; users: number; guard: RequestHandler }
  | { kind: 'open-loopback'; guard: RequestHandler }
  | { kind: 'disabled'; why: string };

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * Hand-written rather than a basic-auth package: ten lines, and the passwords are compared as sha256 digests in
 * constant time (packages compare plain-text passwords).
 */
function basicGuard(users: z.infer<typeof usersSchema>): RequestHandler {
  const byUser = new Map(users.map((u) => [u.user, Buffer.from(u.passwordSha256, 'hex')]));
  const decoy = sha256('no such user');
  return (req, res, next) => {
    const encoded = req.headers.authorization?.match(/^Basic\s+([A-Za-z0-9+/=]+)$/i)?.[1];
    const decoded = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon > 0 ? decoded.slice(0, colon) : '';
    const expected = byUser.get(user);
    const ok = timingSafeEqual(sha256(decoded.slice(colon + 1)), expected ?? decoy) && expected !== undefined;
    if (ok) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="Leadrank dashboard", charset="UTF-8"');
    res.status(401).json({ error: { code: 'unauthorized', message: 'dashboard credentials required' } });
  };
}

export function dashboardAccessFromEnv(env: Record<string, string | undefined>): DashboardAccess {
  const raw = env.LEADRANK_DASHBOARD_USERS?.trim();
  if (raw) {
    const parsed = usersSchema.safeParse(JSON.parse(raw));
    if (!parsed.success)
      throw new Error(`LEADRANK_DASHBOARD_USERS: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return { kind: 'basic', users: parsed.data.length, guard: basicGuard(parsed.data) };
  }
  const host = env.HOST ?? '0.0.0.0';
  if (LOOPBACK.has(host)) return { kind: 'open-loopback', guard: (_req, _res, next) => next() };
  return {
    kind: 'disabled',
    why: `HOST ${host} is not loopback and LEADRANK_DASHBOARD_USERS is not set`,
  };
}
