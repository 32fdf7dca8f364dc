// Who is calling: a bearer token, either issued by this sidecar's POST /oauth/token (OAuth 2.0 client
// credentials; HS256 JWT) or a JWT signed by a configured caller key (JWKS or PEM). Every caller is bound
// to one region: the client's `region`, or the key's.
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  decodeProtectedHeader,
  importJWK,
  importSPKI,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { z } from 'zod';
import type { Region } from '../store/index.js';

export interface Caller {
  /** clientId, or the caller token's `sub`. */
  id: string;
  name: string;
  region: Region;
  via: 'client_credentials' | 'caller_key';
}

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    message: string,
    readonly oauthError: 'invalid_token' | 'invalid_client' | 'invalid_request' | 'unsupported_grant_type',
  ) {
    super(message);
  }
}

const region = z.enum(['US', 'EU']);
const clientsSchema = z.array(
  z.strictObject({
    clientId: z.string().min(1).max(128),
    clientSecretSha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 hex of the client secret'),
    region,
    name: z.string().min(1).max(128),
  }),
);
export type ClientConfig = z.infer<typeof clientsSchema>[number];

interface CallerKey {
  key: CryptoKey | Uint8Array;
  region: Region;
  name: string;
}

export const TOKEN_ISSUER = 'leadrank-sidecar';
export const TOKEN_AUDIENCE = 'leadrank-sidecar';

export interface AuthOptions {
  clients: ClientConfig[];
  /** HS256 key of the sidecar's own tokens (LEADRANK_TOKEN_SIGNING_KEY), at least 32 bytes. */
  signingKey: string | null;
  /** Caller keys by `kid` ("" when the single PEM key has none). */
  callerKeys: Map<string, CallerKey>;
  tokenTtlSeconds: number;
  /**
   * Longest a caller-key token may live (config/api-access.json callerTokens.maxLifetimeSeconds): exp at most
   * this far ahead, and exp - iat at most this. A leaked long-lived token cannot be revoked otherwise.
   */
  maxCallerTokenLifetimeSeconds?: number;
  now?: () => number;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

const CACHE_LIMIT = 10_000;

export class Authenticator {
  private readonly clients: Map<string, ClientConfig>;
  private readonly signingKey: Uint8Array | null;
  // Verified tokens until they expire: an HMAC or signature check per request costs more than the lookup.
  // Hand-written bounded map: cleared when full, which only costs re-verifications.
  private readonly verified = new Map<string, { caller: Caller; expiresAtMs: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthOptions) {
    this.clients = new Map(opts.clients.map((c) => [c.clientId, c]));
    this.signingKey = opts.signingKey ? new TextEncoder().encode(opts.signingKey) : null;
    this.now = opts.now ?? Date.now;
  }

  /** Client credentials grant: the client's secret must hash to its configured clientSecretSha256. */
  async issueToken(
    clientId: string,
    clientSecret: string,
  ): Promise<{ token: TokenResponse; client: ClientConfig }> {
    const client = this.clients.get(clientId);
    if (!client || !this.signingKey || !sameHex(sha256Hex(clientSecret), client.clientSecretSha256)) {
      throw new AuthError('unknown client or wrong secret', 'invalid_client');
    }
    const ttl = this.opts.tokenTtlSeconds;
    const nowSeconds = Math.floor(this.now() / 1000);
    const token = await new SignJWT({ region: client.region, name: client.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(client.clientId)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + ttl)
      .sign(this.signingKey);
    return { token: { access_token: token, token_type: 'Bearer', expires_in: ttl }, client };
  }

  /** The caller behind an Authorization header; AuthError when missing, malformed, expired or unknown. */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    const match = authorization?.match(/^Bearer\s+([A-Za-z0-9\-_.]+)\s*$/i);
    if (!match) throw new AuthError('a bearer token is required', 'invalid_request');
    const token = match[1]!;
    const cached = this.verified.get(token);
    if (cached && cached.expiresAtMs > this.now()) return cached.caller;
    const { caller, expiresAtMs } = await this.verify(token);
    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, { caller, expiresAtMs });
    return caller;
  }

  private async verify(token: string): Promise<{ caller: Caller; expiresAtMs: number }> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new AuthError('the token is not a JWT', 'invalid_token');
    }
    const currentDate = new Date(this.now());
    try {
      if (header.alg === 'HS256') {
        if (!this.signingKey) throw new Error('no signing key configured');
        const { payload } = await jwtVerify(token, this.signingKey, {
          issuer: TOKEN_ISSUER,
          audience: TOKEN_AUDIENCE,
          algorithms: ['HS256'],
          requiredClaims: ['exp', 'sub'],
          currentDate,
        });
        const client = this.clients.get(payload.sub!);
        if (!client) throw new Error('client no longer configured');
        return this.result(
          { id: client.clientId, name: client.name, region: client.region, via: 'client_credentials' },
          payload,
        );
      }
      const key = this.opts.callerKeys.get(header.kid ?? '') ?? this.opts.callerKeys.get('');
      if (!key) throw new Error('unknown caller key');
      const { payload } = await jwtVerify(token, key.key, {
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['exp', 'sub'],
        currentDate,
      });
      if (payload.region !== undefined && payload.region !== key.region) {
        throw new Error('the token claims another region than its key is bound to');
      }
      this.checkLifetime(payload);
      return this.result(
        { id: payload.sub!, name: key.name, region: key.region, via: 'caller_key' },
        payload,
      );
    } catch (error) {
      if (error instanceof AuthError) throw error;
      throw new AuthError(`invalid token: ${(error as Error).message}`, 'invalid_token');
    }
  }

  private checkLifetime(payload: JWTPayload): void {
    const max = this.opts.maxCallerTokenLifetimeSeconds;
    if (max === undefined) return;
    const exp = payload.exp!;
    const ahead = exp - Math.floor(this.now() / 1000);
    const lifetime = typeof payload.iat === 'number' ? exp - payload.iat : ahead;
    if (Math.max(ahead, lifetime) > max)
      throw new Error(
        `token lifetime ${Math.max(ahead, lifetime)} s exceeds the maximum of ${max} s for caller keys: issue tokens with a shorter exp`,
      );
  }

  private result(caller: Caller, payload: JWTPayload): { caller: Caller; expiresAtMs: number } {
    return { caller, expiresAtMs: (payload.exp ?? 0) * 1000 };
  }
}

/**
 * client_id and client_secret from an HTTP Basic header (RFC 6749 2.3.1: each form-urlencoded, then joined by
 * a colon, then base64). AuthError invalid_request (a 400) when it is not that shape.
 */
export function parseBasicCredentials(header: string): { clientId: string; clientSecret: string } {
  const encoded = header.match(/^Basic\s+(\S+)\s*$/i)?.[1];
  if (!encoded || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 === 1)
    throw new AuthError('Authorization: Basic credentials are not base64', 'invalid_request');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    throw new AuthError(
      'Authorization: Basic credentials lack the ":" between client id and secret',
      'invalid_request',
    );
  try {
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon)),
      clientSecret: decodeURIComponent(decoded.slice(colon + 1)),
    };
  } catch {
    throw new AuthError('Authorization: Basic credentials are not valid form-urlencoding', 'invalid_request');
  }
}

const jwksSchema = z.object({
  keys: z.array(
    z
      .object({
        kid: z.string().min(1),
        kty: z.string(),
        region,
        name: z.string().optional(),
        alg: z.string().optional(),
      })
      .loose(),
  ),
});

/**
 * From env: LEADRANK_CLIENTS (JSON [{clientId, clientSecretSha256, region, name}]), LEADRANK_TOKEN_SIGNING_KEY,
 * LEADRANK_CALLER_JWKS (JWKS JSON; each key carries its `region`, optional `name`), or one PEM key:
 * LEADRANK_CALLER_PUBLIC_KEY + LEADRANK_CALLER_REGION (+ LEADRANK_CALLER_NAME, LEADRANK_CALLER_ALG, default RS256).
 */
export async function createAuthenticatorFromEnv(
  env: Record<string, string | undefined>,
  tokenTtlSeconds: number,
  maxCallerTokenLifetimeSeconds?: number,
): Promise<Authenticator> {
  const parseJson = (name: string, text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`${name} is not valid JSON: ${(error as Error).message}`);
    }
  };
  const clientsResult = clientsSchema.safeParse(
    env.LEADRANK_CLIENTS ? parseJson('LEADRANK_CLIENTS', env.LEADRANK_CLIENTS) : [],
  );
  if (!clientsResult.success) {
    const issue = clientsResult.error.issues[0]!;
    throw new Error(`LEADRANK_CLIENTS: ${issue.path.join('.')}: ${issue.message}`);
  }
  const signingKey = env.LEADRANK_TOKEN_SIGNING_KEY ?? null;
  if (signingKey !== null && Buffer.byteLength(signingKey) < 32) {
    throw new Error('LEADRANK_TOKEN_SIGNING_KEY must be at least 32 bytes');
  }
  if (clientsResult.data.length && !signingKey) {
    throw new Error('LEADRANK_CLIENTS is set but LEADRANK_TOKEN_SIGNING_KEY is not');
  }
  const callerKeys = new Map<string, CallerKey>();
  if (env.LEADRANK_CALLER_JWKS) {
    const jwks = jwksSchema.safeParse(parseJson('LEADRANK_CALLER_JWKS', env.LEADRANK_CALLER_JWKS));
    if (!jwks.success) {
      const issue = jwks.error.issues[0]!;
      throw new Error(`LEADRANK_CALLER_JWKS: ${issue.path.join('.')}: ${issue.message}`);
    }
    for (const jwk of jwks.data.keys) {
      const { region: keyRegion, name, ...keyFields } = jwk;
      const key = await importJWK(keyFields as JWK, jwk.alg ?? 'RS256');
      callerKeys.set(jwk.kid, { key, region: keyRegion, name: name ?? jwk.kid });
    }
  }
  if (env.LEADRANK_CALLER_PUBLIC_KEY) {
    const keyRegion = region.safeParse(env.LEADRANK_CALLER_REGION);
    if (!keyRegion.success)
      throw new Error('LEADRANK_CALLER_PUBLIC_KEY needs LEADRANK_CALLER_REGION (US or EU)');
    const key = await importSPKI(env.LEADRANK_CALLER_PUBLIC_KEY, env.LEADRANK_CALLER_ALG ?? 'RS256');
    callerKeys.set('', { key, region: keyRegion.data, name: env.LEADRANK_CALLER_NAME ?? 'caller-key' });
  }
  return new Authenticator({
    clients: clientsResult.data,
    signingKey,
    callerKeys,
    tokenTtlSeconds,
    ...(maxCallerTokenLifetimeSeconds !== undefined ? { maxCallerTokenLifetimeSeconds } : {}),
  });
}
