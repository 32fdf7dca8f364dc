// Stands in for Salesforce record Ids: 3-char key prefix + 12 base-62 chars (15) + case-safe suffix (18).

const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_15 = /^[a-zA-Z0-9]{15}$/;
const ID_18 = /^[a-zA-Z0-9]{18}$/;

/** The 3-char case-safe suffix: per 5-char chunk, bit i is set when char i is an uppercase letter. */
export function caseSafeSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

/** Normalizes a 15- or 18-char Id to its 18-char form; undefined when it is not a well-formed Id. */
export function toId18(id: string): string | undefined {
  if (ID_15.test(id)) return id + caseSafeSuffix(id);
  if (!ID_18.test(id)) return undefined;
  const id15 = id.slice(0, 15);
  const expected = caseSafeSuffix(id15);
  // Salesforce accepts the suffix in any letter case.
  return id.slice(15).toUpperCase() === expected ? id15 + expected : undefined;
}

export function keyPrefixOf(id: string): string {
  return id.slice(0, 3);
}

/** A new 18-char Id: prefix + 2-char "pod" marker + 10-char base-62 sequence. */
export function makeId(keyPrefix: string, sequence: number): string {
  let body = '';
  let n = sequence;
  for (let i = 0; i < 10; i++) {
    body = BASE62[n % 62] + body;
    n = Math.floor(n / 62);
  }
  const id15 = `${keyPrefix}5S${body}`;
  return id15 + caseSafeSuffix(id15);
}
