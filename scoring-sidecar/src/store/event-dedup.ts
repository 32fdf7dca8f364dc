import { createHash } from 'node:crypto';

/**
 * Dedup key of an event id: a 128-bit digest, so keys stay short and an id that happens to embed an email
 * never lands in a key.
 */
export function eventIdDigest(eventId: string): string {
  return createHash('sha256').update(eventId).digest('base64url').slice(0, 22);
}
