/**
 * A contact's fingerprint as the snapshot keeps it: the first 64 bits of `contactFingerprint` (a
 * SHA-256 of the email key, the names and every other mapped field sent), as a signed 64-bit
 * integer (SQLite's INTEGER).
 * Never 0: 0 is the fingerprint of a contact sent but never confirmed (see
 * `keepUnconfirmedSends`), which no contact has. Frozen: the snapshots' migration uses it too.
 */
export function snapshotFingerprint(contactFingerprintHex: string): bigint {
  const [hi, lo] = fingerprintHalves(contactFingerprintHex);
  return joinFingerprint(hi, lo);
}

/** The unconfirmed fingerprint: equal to no contact's. */
export const unconfirmedFingerprint = 0n;

/** The two 32-bit halves (high, low) of a fingerprint's first 64 bits; never both 0 for a contact. */
export function fingerprintHalves(contactFingerprintHex: string): [number, number] {
  if (contactFingerprintHex === '') return [0, 0];
  const hi = hexWord(contactFingerprintHex, 0);
  const lo = hexWord(contactFingerprintHex, 8);
  return hi === 0 && lo === 0 ? [0, 1] : [hi, lo];
}

/** The 32-bit number of the 8 hex digits of `text` from `start` (no substring: a million pass). */
function hexWord(text: string, start: number): number {
  let word = 0;
  for (let index = start; index < start + 8; index++) {
    const unit = text.charCodeAt(index);
    word = word * 16 + (unit <= 0x39 ? unit - 0x30 : (unit | 0x20) - 0x57);
  }
  return word;
}

/** A fingerprint from its halves, as SQLite's signed INTEGER. */
export function joinFingerprint(hi: number, lo: number): bigint {
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
}

/** The halves of a stored fingerprint. */
export function splitFingerprint(value: bigint): [number, number] {
  const unsigned = BigInt.asUintN(64, value);
  return [Number(unsigned >> 32n), Number(unsigned & 0xffffffffn)];
}
