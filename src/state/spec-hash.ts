import { createHash } from 'node:crypto';

/** A value that survives a JSON round trip unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue | undefined;
}

/**
 * JSON with object keys sorted (by UTF-16 code unit) at every depth and no whitespace, so equal
 * values give equal text whatever order their keys were built in. Properties whose value is
 * `undefined` are left out, as JSON.stringify does; a value JSON cannot represent (a non-finite
 * number, undefined in an array, a function, a bigint) throws a TypeError instead of being altered.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

/**
 * The spec hash stored beside each applied resource: `sha256:` and the hex SHA-256 of the spec's
 * {@link canonicalJson}. Equal specs (in any key order) hash equal; any change of a value changes it.
 */
export function specHash(spec: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(spec), 'utf8').digest('hex')}`;
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot represent`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((item, index) => {
            if (item === undefined) throw new TypeError(`${path}[${index}] is undefined`);
            return write(item, `${path}[${index}]`);
          })
          .join(',')}]`;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) {
        throw new TypeError(`${path} is a ${value.constructor?.name ?? 'class instance'}, not plain JSON`);
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${path} is a ${typeof value}, which JSON cannot represent`);
  }
}
