// Salesforce record Ids: 15-char case-sensitive body + 3-char case-safe suffix.

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

export const KEY_PREFIX = {
  User: '005',
  Account: '001',
  Lead: '00Q',
  Opportunity: '006',
  Task: '00T',
  LeadHistory: '017',
} as const;
export type KeyPrefixObject = keyof typeof KEY_PREFIX;

/** Salesforce's CASESAFEID algorithm: one suffix char per 5-char chunk, bit i set when char i is uppercase. */
export function caseSafeSuffix(id15: string): string {
  if (!/^[0-9A-Za-z]{15}$/.test(id15)) throw new Error(`not a 15-character Salesforce Id: ${id15}`);
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const code = id15.charCodeAt(chunk * 5 + i);
      if (code >= 65 && code <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

export function to18(id15: string): string {
  return id15 + caseSafeSuffix(id15);
}

/** True when id is 18 chars and its suffix matches its first 15 chars (case-sensitively). */
export function isValidId18(id: string): boolean {
  return /^[0-9A-Za-z]{15}[A-Z0-5]{3}$/.test(id) && caseSafeSuffix(id.slice(0, 15)) === id.slice(15);
}

function base62(n: number, width: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Id counter out of range: ${n}`);
  let out = '';
  let rest = n;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  if (rest > 0) throw new Error(`Id counter ${n} does not fit ${width} base-62 chars`);
  return out;
}

/**
 * Deterministic Id factory. Layout of the 15-char body, as in real Ids:
 * key prefix (3) + instance (2) + reserved '0' (1) + 9 base-62 chars (2 for the data-set tag, 7 for the counter).
 * The instance code separates data sets (generator vs x-education); the tag separates seeds.
 */
export function makeIdFactory(instance: string, tag: number): (object: KeyPrefixObject, n: number) => string {
  if (!/^[0-9A-Za-z]{2}$/.test(instance))
    throw new Error(`instance code must be 2 base-62 chars: ${instance}`);
  const tagPart = base62(((tag % 3844) + 3844) % 3844, 2);
  return (object, n) => to18(KEY_PREFIX[object] + instance + '0' + tagPart + base62(n, 7));
}
