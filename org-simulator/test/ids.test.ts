import { describe, expect, it } from 'vitest';
import { caseSafeSuffix, makeId, toId18 } from '../src/ids.js';

describe('Salesforce Ids', () => {
  it('computes the case-safe suffix of known real Ids', () => {
    expect(toId18('a0D30000001n7Pi')).toBe('a0D30000001n7PiEAI');
    expect(toId18('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
    expect(caseSafeSuffix('000000000000000')).toBe('AAA');
    expect(caseSafeSuffix('ZZZZZZZZZZZZZZZ')).toBe('555');
  });

  it('accepts 18-char Ids with the suffix in any case and rejects a wrong suffix', () => {
    expect(toId18('001A0000006Vm9rIAC')).toBe('001A0000006Vm9rIAC');
    expect(toId18('001A0000006Vm9riac')).toBe('001A0000006Vm9rIAC');
    expect(toId18('001A0000006Vm9rAAA')).toBeUndefined();
    expect(toId18('001A0000006Vm9')).toBeUndefined();
    expect(toId18('001A0000006Vm9r!')).toBeUndefined();
  });

  it('makes distinct, valid 18-char Ids with the key prefix', () => {
    const a = makeId('00Q', 1);
    const b = makeId('00Q', 62);
    expect(a).not.toBe(b);
    for (const id of [a, b]) {
      expect(id).toHaveLength(18);
      expect(id.startsWith('00Q')).toBe(true);
      expect(toId18(id.slice(0, 15))).toBe(id);
    }
  });
});
