const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const KEY = Buffer.from('"import_data"');

/**
 * For a JSON import body (already known to parse), the byte offset at which each element of the
 * top-level `import_data` array ends (the offset of its closing `}`), in order. The sandbox uses it to
 * drop, like Constant Contact, what lies past the 4 MB mark. One pass over the bytes, no copies.
 * Returns undefined when the body has no top-level `import_data` array written literally.
 */
export function importDataElementEnds(body: Buffer): number[] | undefined {
  let depth = 0;
  let inString = false;
  let stringStart = -1;
  let lastKeyIsImportData = false;
  let pendingKey = false;
  let arrayDepth = -1;
  const ends: number[] = [];
  for (let index = 0; index < body.length; index++) {
    const byte = body[index];
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) {
        inString = false;
        // A string directly inside the root object may be a key; it is one if a colon follows.
        if (depth === 1 && arrayDepth < 0) {
          pendingKey =
            index + 1 - stringStart === KEY.length && body.subarray(stringStart, index + 1).equals(KEY);
        }
      }
      continue;
    }
    switch (byte) {
      case QUOTE:
        inString = true;
        stringStart = index;
        break;
      case COLON:
        if (depth === 1) lastKeyIsImportData = pendingKey;
        pendingKey = false;
        break;
      case OPEN_BRACE:
      case OPEN_BRACKET:
        if (byte === OPEN_BRACKET && depth === 1 && lastKeyIsImportData && arrayDepth < 0) arrayDepth = 2;
        depth += 1;
        break;
      case CLOSE_BRACE:
      case CLOSE_BRACKET:
        depth -= 1;
        if (arrayDepth > 0 && depth === arrayDepth && byte === CLOSE_BRACE) ends.push(index);
        if (arrayDepth > 0 && depth < arrayDepth) return ends;
        break;
      default:
        break;
    }
  }
  return arrayDepth > 0 ? ends : undefined;
}
