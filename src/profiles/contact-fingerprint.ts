import { hash } from 'node:crypto';
import type { ExportContact } from './map-contact';

/** What a contact's fingerprints cover: the email key and everything sent besides the email. */
export type FingerprintedContact = Pick<ExportContact, 'emailKey' | 'firstName' | 'lastName' | 'fields'>;

/**
 * The fingerprint snapshots kept before contacts were fingerprinted by `contactFingerprintHalves`
 * (states written by earlier versions still hold it, and a run translates it, see `ImportStaging`):
 * its email key, first name and last name as sent (absent and empty are told apart), and every
 * other mapped field by name with its value (a field mapped without a value counts too, so mapping
 * a new field changes every contact's fingerprint, and each contact is sent once more with it). 32
 * hex characters (the first 128 bits of SHA-256 over a JSON encoding, so no two field splits
 * collide). The email's letter case is not part of it: Constant Contact matches addresses
 * case-insensitively.
 *
 * A contact without other fields (`fields` absent) has the fingerprint it always had ('v1'), so a
 * destination that maps only email and names sends nothing more after an upgrade. Frozen: stored
 * snapshots are compared with it.
 */
export function contactFingerprint(contact: FingerprintedContact): string {
  const names = [contact.emailKey, contact.firstName ?? null, contact.lastName ?? null];
  const sent =
    contact.fields === undefined
      ? JSON.stringify(['v1', ...names])
      : JSON.stringify(['v2', ...names, contact.fields.map(([name, value]) => [name, value ?? null])]);
  return hash('sha256', sent, 'hex').slice(0, 32);
}

/**
 * The 64-bit fingerprint a snapshot keeps of a contact, as two unsigned 32-bit halves (high,
 * low): what `contactFingerprint` covers, framed so that no two field splits, absent and empty, or
 * a number and its text coincide, and hashed in two lanes of 32 bits (MurmurHash3's block and
 * finalisation steps over the UTF-16 code units two at a time; the lanes with other seeds,
 * constants and rotations, so that a difference cancelled in one is not in the other; mixed into
 * each other at the end). Never [0, 0]: that is the fingerprint of a contact sent but never
 * confirmed.
 *
 * Not a cryptographic hash, on purpose: a SHA-256 per contact was a tenth of a full export's CPU
 * (a million JSON texts, hashes and hex strings). What it must do is tell a changed contact from
 * its previous version, which two 64-bit values of unrelated inputs fail to do once in 2^64; a
 * collision crafted on purpose could only keep one's own update from being sent. Frozen: stored
 * snapshots are compared with it (a new encoding needs a translation, as `contactFingerprint` has).
 */
export function contactFingerprintHalves(contact: FingerprintedContact): [number, number] {
  high = 0x2f6b6e1d;
  low = 0x5b2e9f43;
  words = 0;
  text(contact.emailKey);
  optionalText(contact.firstName);
  optionalText(contact.lastName);
  const fields = contact.fields;
  if (fields === undefined) word(0x0f000000);
  else {
    word(0x0e000000 + fields.length);
    for (const [name, value] of fields) {
      text(name);
      if (typeof value === 'number') {
        word(0x0d000000);
        text(String(value));
      } else optionalText(value);
    }
  }
  let hi = mix32(high ^ words);
  let lo = mix32(low ^ Math.imul(words, 0x9e3779b1));
  hi = (hi + lo) | 0;
  lo = (lo + hi) | 0;
  hi >>>= 0;
  lo >>>= 0;
  return hi === 0 && lo === 0 ? [0, 1] : [hi, lo];
}

// The lanes of the fingerprint being computed (`contactFingerprintHalves` runs to its end at once:
// module state instead of an object per contact).
let high = 0;
let low = 0;
let words = 0;

/** A text: its length (which frames it), then its code units two to a word. */
function text(value: string): void {
  const length = value.length;
  word(0x01000000 + length);
  let index = 0;
  for (; index + 1 < length; index += 2)
    word((value.charCodeAt(index) | (value.charCodeAt(index + 1) << 16)) >>> 0);
  if (index < length) word(value.charCodeAt(index) | 0x00010000);
}

/** A text, or a word no text starts with when there is none. */
function optionalText(value: string | undefined): void {
  if (value === undefined) word(0x0c000000);
  else text(value);
}

/** One 32-bit word into both lanes. */
function word(value: number): void {
  words += 1;
  let k = Math.imul(value, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = high ^ k;
  h = (h << 13) | (h >>> 19);
  high = (Math.imul(h, 5) + 0xe6546b64) | 0;
  let j = Math.imul(value ^ 0x9e3779b9, 0x85ebca77);
  j = (j << 17) | (j >>> 15);
  j = Math.imul(j, 0xc2b2ae3d);
  let l = low ^ j;
  l = (l << 11) | (l >>> 21);
  low = (Math.imul(l, 9) + 0x27d4eb2f) | 0;
}

/** MurmurHash3's finalisation: every input bit moves every output bit. */
function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
