import { describe, expect, it } from 'vitest';
import {
  fingerprintHalves,
  joinFingerprint,
  snapshotFingerprint,
  splitFingerprint,
} from '../../../src/engine';

describe('the snapshot fingerprint', () => {
  it('is the first 64 bits of the contact fingerprint, as SQLite’s signed INTEGER, never 0 for a contact', () => {
    expect(fingerprintHalves('0123456789abcdefFFFFFFFFFFFFFFFF')).toEqual([0x01234567, 0x89abcdef]);
    expect(fingerprintHalves('FFFFFFFFfffffffb00')).toEqual([0xffffffff, 0xfffffffb]);
    expect(snapshotFingerprint('fffffffffffffffb')).toBe(-5n);
    expect(snapshotFingerprint('8000000000000000')).toBe(-(2n ** 63n));
    expect(fingerprintHalves('0000000000000000ab')).toEqual([0, 1]);
    expect(fingerprintHalves('')).toEqual([0, 0]);
    expect(splitFingerprint(joinFingerprint(0xdeadbeef, 0x01020304))).toEqual([0xdeadbeef, 0x01020304]);
  });
});
