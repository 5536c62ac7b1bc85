import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StagedContact } from '../run-store';

/** PostgreSQL's binary COPY header: signature, flags, header extension length. */
const header = Buffer.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
const trailer = Buffer.from([0xff, 0xff]);
/** The fixed bytes of one tuple: field count, then each field's length and its fixed-size values. */
const fixedTupleBytes = 2 + (4 + 8) + (4 + 4) + 4 + (4 + 8) + 4;

/**
 * Writes `contacts` into `export_run_contacts` of run `runId` with one binary COPY on `client`
 * (inside the caller's transaction). Binary: the fingerprint's halves go in as the 8 bytes of a
 * `bigint` as they are (no BigInt, no decimal text per contact) and the entries need no escaping.
 */
export async function copyStagedContacts(
  client: pg.ClientBase,
  runId: number,
  contacts: readonly StagedContact[],
): Promise<void> {
  const stream = client.query(
    copyFrom(
      'COPY export_run_contacts (run_id, seq, email_key, fingerprint, entry) FROM STDIN (FORMAT binary)',
    ),
  );
  await pipeline(chunks(runId, contacts), stream);
}

/** The COPY data in chunks of about 1 MB. */
function* chunks(runId: number, contacts: readonly StagedContact[]): Generator<Buffer> {
  yield header;
  const chunkBytes = 1 << 20;
  let buffer = Buffer.allocUnsafe(chunkBytes);
  let at = 0;
  for (const contact of contacts) {
    const emailBytes = Buffer.byteLength(contact.emailKey);
    const entryBytes = Buffer.byteLength(contact.entry);
    const size = fixedTupleBytes + emailBytes + entryBytes;
    if (at + size > buffer.length) {
      if (at > 0) yield buffer.subarray(0, at);
      buffer = Buffer.allocUnsafe(Math.max(chunkBytes, size));
      at = 0;
    }
    at = buffer.writeInt16BE(5, at);
    at = buffer.writeInt32BE(8, at);
    // run_id: a bigint from a safe integer (high word, low word).
    at = buffer.writeInt32BE(Math.floor(runId / 0x1_0000_0000), at);
    at = buffer.writeUInt32BE(runId >>> 0, at);
    at = buffer.writeInt32BE(4, at);
    at = buffer.writeInt32BE(contact.seq, at);
    at = buffer.writeInt32BE(emailBytes, at);
    at += buffer.write(contact.emailKey, at, 'utf8');
    at = buffer.writeInt32BE(8, at);
    at = buffer.writeUInt32BE(contact.fingerprint[0] >>> 0, at);
    at = buffer.writeUInt32BE(contact.fingerprint[1] >>> 0, at);
    at = buffer.writeInt32BE(entryBytes, at);
    at += buffer.write(contact.entry, at, 'utf8');
  }
  if (at > 0) yield buffer.subarray(0, at);
  yield trailer;
}
