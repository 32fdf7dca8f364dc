// Stands in for Salesforce's session store: access tokens, their users and expiry.
import { randomBytes } from 'node:crypto';

export interface Session {
  token: string;
  userId: string;
  clientId: string;
  issuedAt: number;
  expiresAt: number;
}

/** Access tokens in memory, shaped like Salesforce's (`<orgId15>!<opaque>`). */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly orgId15: string,
    private readonly clock: () => number = Date.now,
  ) {}

  issue(userId: string, clientId: string, timeoutSeconds: number): Session {
    const now = this.clock();
    const token = `${this.orgId15}!${randomBytes(48).toString('base64url')}`;
    const session = { token, userId, clientId, issuedAt: now, expiresAt: now + timeoutSeconds * 1000 };
    this.sessions.set(token, session);
    return session;
  }

  /** The live session for `token`, or undefined when unknown, revoked or expired. */
  verify(token: string): Session | undefined {
    const session = this.sessions.get(token);
    if (!session) return undefined;
    if (session.expiresAt <= this.clock()) {
      this.sessions.delete(token);
      return undefined;
    }
    return session;
  }

  revoke(token: string): boolean {
    return this.sessions.delete(token);
  }

  /** Test and admin hook: make a token expire now. */
  expire(token: string): void {
    const session = this.sessions.get(token);
    if (session) session.expiresAt = this.clock();
  }
}
