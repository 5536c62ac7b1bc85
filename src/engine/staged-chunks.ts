import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { StagedContact } from './run-store';

/**
 * A run's staged contacts as both run stores keep them, in chunks: one row of `export_run_chunks`
 * per run of consecutive `seq`s (at most `contactsPerChunk`), holding their keys packed (`keys`)
 * and their entries joined by commas, as an import body carries them, raw DEFLATE at level 1
 * (`entries`). A million contacts are ~200 rows written once instead of a million rows, and their
 * entries a third of their size or less (JSON objects of names and addresses compress well); a
 * batch's body is inflated from the chunks its range spans when it is sent. Contacts that lost the
 * dedupe after they were staged are listed apart (`export_run_unstaged`): a chunk is never
 * rewritten.
 */
export const contactsPerChunk = 5000;
// The range queries look for the chunks of a seq from `seq - (contactsPerChunk - 1)` on: this may
// grow in a later version, never shrink (chunks already stored would be missed).

const formatVersion = 1;

/** One chunk as stored. */
export interface EncodedChunk {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly keys: Buffer;
  readonly entries: Buffer;
}

/**
 * `contacts` (in `seq` order) as chunks: a new chunk wherever `seq` skips or a chunk is full.
 * `keys`: u32 format version (1), u32 n, then n u32 of each of: fingerprint high halves, low
 * halves, the end of each email key in the key bytes, the end of each entry in the inflated
 * entries (entries are separated by one comma); then the email keys' UTF-8 bytes. Little-endian.
 */
export function encodeStagedChunks(contacts: readonly StagedContact[]): EncodedChunk[] {
  const chunks: EncodedChunk[] = [];
  let from = 0;
  while (from < contacts.length) {
    let to = from + 1;
    while (
      to < contacts.length &&
      to - from < contactsPerChunk &&
      (contacts[to] as StagedContact).seq === (contacts[to - 1] as StagedContact).seq + 1
    )
      to += 1;
    chunks.push(encodeChunk(contacts, from, to));
    from = to;
  }
  return chunks;
}

function encodeChunk(contacts: readonly StagedContact[], from: number, to: number): EncodedChunk {
  const count = to - from;
  let keyBytes = 0;
  for (let index = from; index < to; index++)
    keyBytes += Buffer.byteLength((contacts[index] as StagedContact).emailKey);
  const head = 8 + 16 * count;
  const keys = Buffer.allocUnsafe(head + keyBytes);
  keys.writeUInt32LE(formatVersion, 0);
  keys.writeUInt32LE(count, 4);
  const entries: string[] = new Array(count);
  let written = head;
  let entryEnd = -1;
  for (let at = 0; at < count; at++) {
    const contact = contacts[from + at] as StagedContact;
    keys.writeUInt32LE(contact.fingerprint[0], 8 + 4 * at);
    keys.writeUInt32LE(contact.fingerprint[1], 8 + 4 * (count + at));
    written += keys.write(contact.emailKey, written, 'utf8');
    keys.writeUInt32LE(written - head, 8 + 4 * (2 * count + at));
    entryEnd += 1 + Buffer.byteLength(contact.entry);
    keys.writeUInt32LE(entryEnd, 8 + 4 * (3 * count + at));
    entries[at] = contact.entry;
  }
  return {
    firstSeq: (contacts[from] as StagedContact).seq,
    lastSeq: (contacts[to - 1] as StagedContact).seq,
    keys,
    entries: deflateRawSync(Buffer.from(entries.join(','), 'utf8'), { level: 1 }),
  };
}

/** A stored chunk's keys, read in place. */
export class ChunkKeys {
  readonly count: number;
  private readonly head: number;

  constructor(private readonly blob: Buffer) {
    const version = blob.readUInt32LE(0);
    if (version !== formatVersion)
      throw new Error(`a staged chunk of format ${version}; this version of exportctl reads format 1`);
    this.count = blob.readUInt32LE(4);
    this.head = 8 + 16 * this.count;
  }

  hi(index: number): number {
    return this.blob.readUInt32LE(8 + 4 * index);
  }

  lo(index: number): number {
    return this.blob.readUInt32LE(8 + 4 * (this.count + index));
  }

  emailKey(index: number): string {
    return this.blob.toString('utf8', this.keyStart(index), this.keyEnd(index));
  }

  /** Where email key `index`'s UTF-8 bytes start and end in `bytes`. */
  keyStart(index: number): number {
    return this.head + (index === 0 ? 0 : this.blob.readUInt32LE(8 + 4 * (2 * this.count + index - 1)));
  }

  keyEnd(index: number): number {
    return this.head + this.blob.readUInt32LE(8 + 4 * (2 * this.count + index));
  }

  /** The stored keys (`keyStart`, `keyEnd` index into it). */
  get bytes(): Buffer {
    return this.blob;
  }

  /** Where entry `index` starts and ends in the chunk's inflated entries. */
  entryStart(index: number): number {
    return index === 0 ? 0 : this.entryEnd(index - 1) + 1;
  }

  entryEnd(index: number): number {
    return this.blob.readUInt32LE(8 + 4 * (3 * this.count + index));
  }

  /** The UTF-8 bytes of entry `index`. */
  entryBytes(index: number): number {
    return this.entryEnd(index) - this.entryStart(index);
  }
}

/** A chunk's entries, joined by commas. */
export function inflateChunkEntries(entries: Buffer): Buffer {
  return inflateRawSync(entries);
}

/**
 * Calls `each` for every contact staged from `first` to `last` (`seq`) and not `unstaged`, in
 * `seq` order, with the keys of its chunk and its place in it. `chunks`: `[firstSeq, keys]` of the
 * chunks that hold some of the range, in `seq` order.
 */
export function forEachStagedIn(
  chunks: Iterable<readonly [firstSeq: number, keys: Buffer]>,
  unstaged: ReadonlySet<number>,
  first: number,
  last: number,
  each: (keys: ChunkKeys, index: number) => void,
): void {
  for (const [firstSeq, blob] of chunks) {
    const keys = new ChunkKeys(blob);
    const from = Math.max(first, firstSeq) - firstSeq;
    const to = Math.min(last, firstSeq + keys.count - 1) - firstSeq;
    for (let index = from; index <= to; index++) if (!unstaged.has(firstSeq + index)) each(keys, index);
  }
}

/**
 * The import body of the contacts staged from `first` to `last` and not `unstaged`: their entries
 * joined by commas. `chunks`: `[firstSeq, keys, entries (deflated)]` of the chunks that hold some
 * of the range, in `seq` order.
 */
export function stagedBody(
  chunks: Iterable<readonly [firstSeq: number, keys: Buffer, entries: Buffer]>,
  unstaged: ReadonlySet<number>,
  first: number,
  last: number,
): Buffer {
  const parts: Buffer[] = [];
  for (const [firstSeq, blob, deflated] of chunks) {
    const keys = new ChunkKeys(blob);
    const entries = inflateChunkEntries(deflated);
    const from = Math.max(first, firstSeq) - firstSeq;
    const to = Math.min(last, firstSeq + keys.count - 1) - firstSeq;
    let start = -1;
    // Runs of consecutive entries kept lie one after another, commas between them: a slice each.
    for (let index = from; index <= to + 1; index++) {
      const kept = index <= to && !unstaged.has(firstSeq + index);
      if (kept && start === -1) start = index;
      else if (!kept && start !== -1) {
        parts.push(entries.subarray(keys.entryStart(start), keys.entryEnd(index - 1)));
        start = -1;
      }
    }
  }
  const comma = Buffer.from(',');
  return Buffer.concat(parts.flatMap((part, index) => (index === 0 ? [part] : [comma, part])));
}

/**
 * The unplanned contacts of one chunk (`[seq, entry bytes]` of those after `after` and not
 * `unstaged`), appended to `page`.
 */
export function appendUnplanned(
  page: [seq: number, entryBytes: number][],
  firstSeq: number,
  blob: Buffer,
  after: number,
  unstaged: ReadonlySet<number>,
): void {
  const keys = new ChunkKeys(blob);
  for (let index = Math.max(0, after + 1 - firstSeq); index < keys.count; index++) {
    const seq = firstSeq + index;
    if (!unstaged.has(seq)) page.push([seq, keys.entryBytes(index)]);
  }
}
