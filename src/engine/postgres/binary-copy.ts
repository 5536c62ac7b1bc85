import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** PostgreSQL's binary COPY header: signature, flags, header extension length. */
const header = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
const trailer = Buffer.from([0xff, 0xff]);

/** A field of a binary COPY tuple. */
export type CopyField =
  | { readonly int4: number }
  /** A `bigint` from a safe integer. */
  | { readonly int8: number }
  | { readonly text: string }
  | { readonly bytea: Buffer };

/**
 * Writes `rows` with one binary `COPY ... FROM STDIN (FORMAT binary)` (`copy`: the statement up to
 * `FROM`) on `client`, inside the caller's transaction. Binary: numbers go in as their bytes and
 * blobs as they are (no hex or escaping text, which doubles a blob's bytes both ways).
 */
export async function copyBinary(
  client: pg.ClientBase,
  copy: string,
  rows: Iterable<readonly CopyField[]>,
): Promise<void> {
  const stream = client.query(copyFrom(`${copy} FROM STDIN (FORMAT binary)`));
  await pipeline(tuples(rows), stream);
}

/** The COPY data in pieces of about 1 MB (a blob larger than that is a piece of its own). */
function* tuples(rows: Iterable<readonly CopyField[]>): Generator<Buffer> {
  yield header;
  const pieceBytes = 1 << 20;
  let buffer = Buffer.allocUnsafe(pieceBytes);
  let at = 0;
  for (const fields of rows) {
    let size = 2;
    for (const field of fields)
      size +=
        4 +
        ('int4' in field
          ? 4
          : 'int8' in field
            ? 8
            : 'text' in field
              ? Buffer.byteLength(field.text)
              : field.bytea.length);
    if (at + size > buffer.length) {
      if (at > 0) yield buffer.subarray(0, at);
      buffer = Buffer.allocUnsafe(Math.max(pieceBytes, size));
      at = 0;
    }
    at = buffer.writeInt16BE(fields.length, at);
    for (const field of fields) {
      if ('int4' in field) {
        at = buffer.writeInt32BE(4, at);
        at = buffer.writeInt32BE(field.int4, at);
      } else if ('int8' in field) {
        at = buffer.writeInt32BE(8, at);
        // High word, low word.
        at = buffer.writeInt32BE(Math.floor(field.int8 / 0x1_0000_0000), at);
        at = buffer.writeUInt32BE(field.int8 >>> 0, at);
      } else if ('text' in field) {
        const length = buffer.write(field.text, at + 4, 'utf8');
        at = buffer.writeInt32BE(length, at) + length;
      } else {
        at = buffer.writeInt32BE(field.bytea.length, at);
        at += field.bytea.copy(buffer, at);
      }
    }
  }
  if (at > 0) yield buffer.subarray(0, at);
  yield trailer;
}
