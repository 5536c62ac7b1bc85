/**
 * A jsonl or sqlite value as the text a csv cell would hold, so that every source type maps and
 * validates the same way: strings as they are, numbers and bigints in JavaScript's decimal form,
 * booleans as `true`/`false`, bytes as UTF-8 text, objects and arrays as JSON. `null` and
 * `undefined` are absent (`undefined`), which the mapping treats like an empty cell.
 */
export function stringifyFieldValue(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    case 'undefined':
      return undefined;
    default:
      if (value === null) return undefined;
      if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
      return JSON.stringify(value);
  }
}
