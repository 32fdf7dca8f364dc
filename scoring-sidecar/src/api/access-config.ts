// config/api-access.json: who may reach what, and how often. Validated at start-up (the error names the file
// and field). Secrets are not here: the /metrics bearer token comes from LEADRANK_METRICS_TOKEN.
import { isIP } from 'node:net';
import { z } from 'zod';
import { loadConfigFile } from '../config/index.js';

const positiveInt = z.number().int().positive();

export const accessConfigSchema = z.strictObject({
  /** A caller-key JWT whose exp lies further ahead than this (or exp - iat exceeds it) is refused with 401. */
  callerTokens: z.strictObject({ maxLifetimeSeconds: positiveInt.max(30 * 86_400) }),
  /**
   * /metrics answers a request from loopback (when allowLoopback), from one of allowAddresses (the scraper's
   * IP as the socket sees it; X-Forwarded-For is not trusted), or with Authorization: Bearer
   * $LEADRANK_METRICS_TOKEN. Anything else is 401.
   */
  metrics: z.strictObject({
    allowLoopback: z.boolean(),
    allowAddresses: z.array(z.string().refine((a) => isIP(a) !== 0, 'must be an IP address')),
  }),
  /**
   * Per caller (client id or caller-key subject), over every /v1 route, shared by all replicas through Redis
   * when REDIS_URL is set (in-process otherwise). perCaller overrides requestsPerWindow for named callers.
   */
  rateLimit: z.strictObject({
    requestsPerWindow: positiveInt,
    windowSeconds: positiveInt.max(3600),
    perCaller: z.record(z.string().min(1), z.strictObject({ requestsPerWindow: positiveInt })),
  }),
});
export type AccessConfig = z.infer<typeof accessConfigSchema>;

export function loadAccessConfig(file: string): AccessConfig {
  return loadConfigFile(accessConfigSchema, file);
}
