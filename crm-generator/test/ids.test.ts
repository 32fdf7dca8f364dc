import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { caseSafeSuffix, isValidId18, makeIdFactory, to18 } from '../src/ids.js';

describe('Salesforce Ids', () => {
  it('matches published 15 → 18 conversions', () => {
    // Worked examples from public write-ups of Salesforce's CASESAFEID algorithm.
    expect(to18('a0D30000001n7Pi')).toBe('a0D30000001n7PiEAI');
    expect(to18('0019000000B98de')).toBe('0019000000B98deAAB');
    expect(caseSafeSuffix('001000000000000')).toBe('AAA');
    expect(caseSafeSuffix('ABCDEFGHIJKLMNO')).toBe('555');
  });

  it('gives case variants different suffixes, so 18-char Ids are case-insensitively unique', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-z]{15}$/), fc.integer({ min: 0, max: 14 }), (lower, pos) => {
        const ch = lower[pos] as string;
        fc.pre(/[a-z]/.test(ch));
        const upper = lower.slice(0, pos) + ch.toUpperCase() + lower.slice(pos + 1);
        expect(to18(lower).toLowerCase()).not.toBe(to18(upper).toLowerCase());
      }),
    );
  });

  it('produces valid, distinct Ids with the object key prefix', () => {
    const ids = makeIdFactory('Ld', 42);
    const seen = new Set<string>();
    for (let n = 1; n <= 5000; n++) {
      const id = ids('Lead', n);
      expect(id).toMatch(/^00Q[0-9A-Za-z]{12}[A-Z0-5]{3}$/);
      expect(isValidId18(id)).toBe(true);
      seen.add(id.toLowerCase());
    }
    expect(seen.size).toBe(5000);
    expect(ids('User', 1).slice(0, 3)).toBe('005');
    expect(ids('Account', 1).slice(0, 3)).toBe('001');
    expect(ids('Opportunity', 1).slice(0, 3)).toBe('006');
    expect(ids('Task', 1).slice(0, 3)).toBe('00T');
    expect(makeIdFactory('Xe', 0)('Lead', 1)).not.toBe(ids('Lead', 1));
  });

  it('rejects a corrupted checksum', () => {
    expect(isValidId18('a0D30000001n7PiEAI')).toBe(true);
    expect(isValidId18('a0D30000001n7PiEAA')).toBe(false);
    expect(isValidId18('a0D30000001n7pIEAI')).toBe(false);
  });
});
