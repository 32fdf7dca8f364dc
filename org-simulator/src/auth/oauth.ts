// Stands in for Salesforce's OAuth 2.0 endpoints (/services/oauth2/token, /revoke): client credentials and JWT bearer.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import { decodeJwt, errors as joseErrors, importSPKI, importX509, jwtVerify, type CryptoKey } from 'jose';
import type { SimulatorContext } from '../context.js';
import { makeId } from '../ids.js';
import type { ConnectedApp } from './connected-apps.js';
import { SessionStore, type Session } from './sessions.js';

export const ORG_ID = makeId('00D', 1);
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DEFAULT_SESSION_SECONDS = 7200;
/** Salesforce: the assertion's exp must be at most 3 minutes ahead. */
const MAX_ASSERTION_SECONDS = 180;
const CLOCK_SKEW_SECONDS = 5;
const STANDARD_AUDIENCES = ['https://login.salesforce.com', 'https://test.salesforce.com'];

class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Basic auth is how some clients send client credentials; the form fields win when both are present. */
function basicCredentials(req: Request): { id?: string; secret?: string } {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return {};
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return {
    id: id ? decodeURIComponent(id) : undefined,
    secret: secret ? decodeURIComponent(secret) : undefined,
  };
}

/** The token endpoint (client credentials and JWT bearer flows), revocation, and bearer-token checks. */
export class OAuthService {
  readonly sessions: SessionStore;
  private readonly apps = new Map<string, ConnectedApp>();
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  private readonly signingKey = randomBytes(32);

  constructor(
    private readonly ctx: SimulatorContext,
    apps: ConnectedApp[],
    private readonly clock: () => number = Date.now,
  ) {
    for (const app of apps) this.apps.set(app.clientId, app);
    this.sessions = new SessionStore(ORG_ID.slice(0, 15), clock);
  }

  hasApps(): boolean {
    return this.apps.size > 0;
  }

  /** The live session of a bearer token, or undefined. */
  authenticate(token: string): Session | undefined {
    return this.sessions.verify(token);
  }

  router(): Router {
    const router = express.Router();
    const form = express.urlencoded({ extended: false, limit: '64kb' });
    router.post('/services/oauth2/token', form, async (req, res) => {
      try {
        const params = (req.body ?? {}) as Record<string, string | undefined>;
        const session = await this.grant(req, params);
        res.json(this.tokenResponse(session));
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        this.ctx.logger.info({ event: 'oauth.denied', error: error.error }, 'token request denied');
        res.status(error.status).json({ error: error.error, error_description: error.description });
      }
    });
    router.post('/services/oauth2/revoke', form, (req, res) => {
      const token =
        ((req.body ?? {}) as Record<string, string | undefined>).token ?? String(req.query.token ?? '');
      if (!this.sessions.revoke(token)) {
        res
          .status(400)
          .json({ error: 'unsupported_token_type', error_description: 'this token type is not supported' });
        return;
      }
      res.status(200).end();
    });
    return router;
  }

  private async grant(req: Request, params: Record<string, string | undefined>): Promise<Session> {
    switch (params.grant_type) {
      case 'client_credentials':
        return this.clientCredentials(req, params);
      case JWT_BEARER:
        return this.jwtBearer(params.assertion);
      default:
        throw new OAuthError('unsupported_grant_type', 'grant type not supported');
    }
  }

  private clientCredentials(req: Request, params: Record<string, string | undefined>): Session {
    const basic = basicCredentials(req);
    const clientId = params.client_id ?? basic.id;
    const secret = params.client_secret ?? basic.secret;
    const app = clientId ? this.apps.get(clientId) : undefined;
    if (!app) throw new OAuthError('invalid_client_id', 'client identifier invalid');
    if (!app.clientSecret || !secret || !sameSecret(app.clientSecret, secret)) {
      throw new OAuthError('invalid_client', 'invalid client credentials');
    }
    const userId = app.runAsUsername
      ? this.ctx.store.findIds('User', 'Username', app.runAsUsername, 1)[0]
      : this.ctx.store.integrationUserId;
    if (!userId) throw new OAuthError('invalid_grant', 'no client credentials user enabled');
    return this.sessions.issue(userId, app.clientId, app.sessionTimeoutSeconds ?? DEFAULT_SESSION_SECONDS);
  }

  private verificationKey(app: ConnectedApp): Promise<CryptoKey> {
    let key = this.keys.get(app.clientId);
    if (!key) {
      const pem = app.certificate ?? '';
      key = pem.includes('BEGIN CERTIFICATE') ? importX509(pem, 'RS256') : importSPKI(pem, 'RS256');
      this.keys.set(app.clientId, key);
    }
    return key;
  }

  private async jwtBearer(assertion: string | undefined): Promise<Session> {
    if (!assertion) throw new OAuthError('invalid_grant', 'invalid assertion');
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(assertion).iss;
    } catch {
      throw new OAuthError('invalid_grant', 'invalid assertion');
    }
    const app = issuer ? this.apps.get(issuer) : undefined;
    if (!app) throw new OAuthError('invalid_client_id', 'client identifier invalid');
    if (!app.certificate) throw new OAuthError('invalid_client', 'invalid client credentials');
    const audiences = [this.ctx.instanceUrl(), `${this.ctx.instanceUrl()}/`, ...STANDARD_AUDIENCES];
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, await this.verificationKey(app), {
        algorithms: ['RS256'],
        audience: audiences,
        requiredClaims: ['iss', 'sub', 'aud', 'exp'],
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(this.clock()),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new OAuthError('invalid_grant', 'expired authorization code');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
        throw new OAuthError('invalid_grant', 'audience is invalid');
      }
      throw new OAuthError('invalid_grant', 'invalid assertion');
    }
    const exp = payload.exp ?? 0;
    if (exp - this.clock() / 1000 > MAX_ASSERTION_SECONDS + CLOCK_SKEW_SECONDS) {
      throw new OAuthError('invalid_grant', 'invalid assertion');
    }
    const userId = payload.sub ? this.ctx.store.findIds('User', 'Username', payload.sub, 1)[0] : undefined;
    const user = userId ? this.ctx.store.retrieve('User', userId, ['IsActive']) : undefined;
    if (!userId || user?.IsActive !== true)
      throw new OAuthError('invalid_grant', "user hasn't approved this consumer");
    return this.sessions.issue(userId, app.clientId, app.sessionTimeoutSeconds ?? DEFAULT_SESSION_SECONDS);
  }

  private tokenResponse(session: Session): Record<string, string> {
    const instanceUrl = this.ctx.instanceUrl();
    const id = `${instanceUrl}/id/${ORG_ID}/${session.userId}`;
    const issuedAt = String(session.issuedAt);
    const secret = this.apps.get(session.clientId)?.clientSecret;
    // Salesforce signs id + issued_at with the client secret; JWT-only apps get a per-server key.
    const signature = createHmac('sha256', secret ?? this.signingKey)
      .update(id + issuedAt)
      .digest('base64');
    return {
      access_token: session.token,
      signature,
      scope: 'api',
      instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  }
}
