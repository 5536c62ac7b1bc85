import { contactFieldLimits } from './contact-field-limits';

/** Why an email address cannot be sent. */
export type EmailProblem = 'missing-email' | 'invalid-email' | 'email-too-long';

/** An email address as it is sent, and the key two addresses are compared by. */
export interface NormalisedEmail {
  /** Trimmed and in Unicode NFC; case kept as in the source. Sent to Constant Contact. */
  readonly email: string;
  /** `email` lowercased: two addresses with one key are one contact (dedupe, snapshots, diffs). */
  readonly emailKey: string;
}

// RFC 5322 atext, plus letters, marks and digits of any script (RFC 6531 addresses); no quoted
// local parts, no comments. Dots only between atoms: no leading, trailing or consecutive dots.
const localPart = /^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
// A DNS label: letters (any script), marks, digits and inner hyphens, 1 to 63 characters.
const domainLabel = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;

// The same rules for an address of printable ASCII only (nearly every address), in one regular
// expression without Unicode classes: several times faster, and a million addresses pass through
// it per export. In ASCII, \p{L} is A-Z a-z, \p{N} is 0-9 and \p{M} is empty; a test holds the
// two paths equal on generated ASCII addresses.
const printableAsciiNoSpace = /^[\x21-\x7e]*$/;
const asciiLabel = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const asciiAtext = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const asciiAddress = new RegExp(
  `^(?=[^@]{1,64}@)${asciiAtext}(?:\\.${asciiAtext})*@(?:${asciiLabel}\\.)+(?!\\d+$)${asciiLabel}$`,
);

/**
 * Normalises and checks an email address the way every export does:
 * 1. trim (Unicode white space) and NFC; empty or absent → `missing-email`;
 * 2. a practical syntax check → `invalid-email`: exactly one `@`; no white space or control
 *    characters; local part non-empty, at most 64 characters, atoms of RFC 5322 `atext` (or letters
 *    and digits of any script) joined by single dots; domain of at least two dot-separated DNS
 *    labels (1–63 letters, digits, inner hyphens) whose last label is not all digits (no IP
 *    addresses, no `[literal]`);
 * 3. longer than Constant Contact's `email` maxLength (`contactFieldLimits.email`) → `email-too-long`.
 * The comparison key is the normalised address lowercased (domain and local part alike: Constant
 * Contact matches addresses case-insensitively).
 */
export function normaliseEmail(
  raw: string | undefined,
): NormalisedEmail | { readonly problem: EmailProblem } {
  const trimmed = (raw ?? '').trim();
  // Printable ASCII is already NFC (a space inside makes it invalid: the general path says so).
  const ascii = printableAsciiNoSpace.test(trimmed);
  const email = ascii ? trimmed : trimmed.normalize('NFC');
  if (email === '') return { problem: 'missing-email' };
  if (!(ascii ? asciiAddress.test(email) : isPracticalEmailAddress(email)))
    return { problem: 'invalid-email' };
  if (email.length > contactFieldLimits.email) return { problem: 'email-too-long' };
  return { email, emailKey: email.toLowerCase() };
}

/** The syntax check of `normaliseEmail` for any address (exported for the test of the ASCII path). */
export function isPracticalEmailAddress(email: string): boolean {
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@')) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !localPart.test(local)) return false;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => domainLabel.test(label))) return false;
  return !/^\d+$/.test(labels.at(-1) ?? '');
}
