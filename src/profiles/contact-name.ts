/** A first or last name as it is sent, and what was changed to make it sendable. */
export interface NormalisedName {
  /** The name to send; undefined when there is none (absent, empty, or only white space). */
  readonly value: string | undefined;
  /** Line breaks, tabs or other control characters inside the name were replaced by one space. */
  readonly hadControlCharacters: boolean;
  /** The name was longer than `limit` and was shortened. */
  readonly truncated: boolean;
  /**
   * The name held U+FFFD, what a decoder makes of bytes that are not UTF-8 (a latin1 file read as
   * UTF-8): they were left out rather than sent as '�'.
   */
  readonly hadInvalidBytes?: boolean;
}

const controlRun = /\s*[\p{Cc}\u2028\u2029]+\s*/gu;
const printableAscii = /^[\x20-\x7e]*$/;
const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * Normalises a name for Constant Contact: trimmed; control characters inside it (line breaks,
 * tabs, …) with the white space around them become one space; Unicode NFC. An empty result is absent
 * (the field is not sent).
 *
 * **Length policy**: a name longer than `limit` UTF-16 code units (Constant Contact's maxLength, see
 * `contactFieldLimits`) is *truncated*, not rejected — the contact is still exported, with a
 * `name-truncated` warning for the run record. The cut falls on a grapheme boundary (never inside
 * a surrogate pair, and never between a letter and its combining accent or inside an emoji
 * sequence), as many whole graphemes as fit, then trailing white space is trimmed. We truncate
 * rather than drop the row because a long name is a cosmetic problem while a missing contact is a
 * lost recipient.
 */
export function normaliseName(raw: string | undefined, limit: number): NormalisedName {
  if (raw === undefined) return { value: undefined, hadControlCharacters: false, truncated: false };
  // Printable ASCII (nearly every name) has no control characters and is already NFC.
  if (printableAscii.test(raw)) {
    const name = raw.trim();
    if (name === '') return { value: undefined, hadControlCharacters: false, truncated: false };
    if (name.length <= limit) return { value: name, hadControlCharacters: false, truncated: false };
    return { value: name.slice(0, limit).trimEnd(), hadControlCharacters: false, truncated: true };
  }
  return normaliseAnyName(raw, limit);
}

/** `normaliseName` for any text: the general path (exported for the test of the ASCII one). */
export function normaliseAnyName(raw: string, limit: number): NormalisedName {
  const hadInvalidBytes = raw.includes(replacementCharacter);
  const named = normaliseDecodedName(hadInvalidBytes ? raw.replaceAll(replacementCharacter, '') : raw, limit);
  return hadInvalidBytes ? { ...named, hadInvalidBytes } : named;
}

const replacementCharacter = '\uFFFD';

function normaliseDecodedName(raw: string, limit: number): NormalisedName {
  const trimmed = raw.trim();
  const cleaned = trimmed.replace(controlRun, ' ');
  const name = cleaned.trim().normalize('NFC');
  if (name === '') return { value: undefined, hadControlCharacters: false, truncated: false };
  const hadControlCharacters = cleaned !== trimmed;
  if (name.length <= limit) return { value: name, hadControlCharacters, truncated: false };
  return { value: truncateName(name, limit), hadControlCharacters, truncated: true };
}

/** The longest prefix of whole graphemes of `name` that fits in `limit` code units, end-trimmed. */
function truncateName(name: string, limit: number): string {
  // Between two printable ASCII characters there is always a grapheme boundary, and segmenting
  // costs tens of microseconds a call.
  if (/^[\x20-\x7e]*$/.test(name.slice(0, limit + 1))) return name.slice(0, limit).trimEnd();
  let end = 0;
  for (const { segment } of graphemes.segment(name)) {
    if (end + segment.length > limit) break;
    end += segment.length;
  }
  // One grapheme longer than the limit (absurd, but possible): fall back to code points.
  if (end === 0) {
    for (const char of name) {
      if (end + char.length > limit) break;
      end += char.length;
    }
  }
  return name.slice(0, end).trimEnd();
}
