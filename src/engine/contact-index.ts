/**
 * A 32-bit hash of an email key: only a way to find candidates in the index. Two emails with the
 * same hash are never taken for one contact: every match is confirmed on the email's bytes.
 */
export type EmailHash = (emailKey: string) => number;

/** FNV-1a over the UTF-16 code units, 32 bits. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * Orders strings by Unicode code point (the byte order of their UTF-8 forms, SQLite's BINARY
 * collation): the dedupe's rule for the smallest key. `<` on JavaScript strings compares UTF-16
 * code units, which puts U+E000–U+FFFF after astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** One selected contact as the index compares it. */
export interface IndexedContact {
  readonly key: string;
  readonly emailKey: string;
  /** The email as sent (the source's letter case). */
  readonly email: string;
  /** Its line, rowid or row in the source. */
  readonly position: number;
  /** Its fingerprint's halves (`fingerprintHalves`). */
  readonly fingerprint: readonly [number, number];
}

/** A contact that was its email's winner until one with a smaller key came. */
export interface DisplacedWinner {
  readonly key: string;
  readonly email: string;
  readonly position: number;
  /** Its staging sequence number, or -1 when it was not staged. */
  readonly seq: number;
}

export type OfferResult =
  | { readonly kind: 'winner'; readonly entry: number; readonly displaced: DisplacedWinner | undefined }
  | { readonly kind: 'loser'; readonly winnerKey: string };

const inSnapshot = 1;
const selected = 2;
/** The snapshot's fingerprint was translated from the earlier scheme (see `translateSnapshot`). */
const translated = 4;
/** The winner's fingerprint differs from the snapshot's (meaningful when both are there). */
const differs = 8;

// An entry's cell: `stride` 32-bit words, two entries to a 64-byte cache line.
const stride = 8;
const hashAt = 0;
const emailAt = 1;
const emailLengthAt = 2;
const snapshotHiAt = 3;
const snapshotLoAt = 4;
/** The winner's record in the arena (its key, email as sent, position), or -1. */
const winnerAt = 5;
const seqAt = 6;
const flagsAt = 7;

/**
 * The destination's snapshot and the run's selected contacts in one compact in-memory index, one
 * entry per email: the snapshot's fingerprint of it, and the run's winner for it (the profile with
 * the smallest key by code point), compared as the rows are read. Strings live in one byte arena
 * and numbers in one typed array, outside the JavaScript heap, found by a hash of the email (open
 * addressing); a hash match is confirmed on the email's bytes, so emails that share a hash stay two
 * contacts (an injected weak hash in the tests makes every email collide).
 *
 * The layout is for the rerun, where nearly every row's email is a snapshot member loaded in
 * bucket order and met in source order, each at a random place: an entry's numbers share one
 * 32-byte cell (one cache line, where fourteen arrays were fourteen lines a row), the winner's
 * fingerprint is kept only as whether it differs from the snapshot's, and what only a duplicate
 * needs (the winner's key, email as sent and position) is appended to the arena as one record,
 * written where the arena is written anyway and read only when a second profile of the email comes.
 * About 32 bytes of cell, 8–16 of slots and the text per contact.
 */
export class ContactIndex {
  private readonly hash: EmailHash;
  private slots: Int32Array;
  private mask: number;
  private size = 0;
  private arena: Buffer;
  private used = 0;
  private cells = new Int32Array(0);
  private offered = false;
  private readonly winner: { kind: 'winner'; entry: number; displaced: DisplacedWinner | undefined } = {
    kind: 'winner',
    entry: 0,
    displaced: undefined,
  };

  constructor(options: { readonly hash?: EmailHash; readonly expected?: number } = {}) {
    this.hash = options.hash ?? fnv1a32;
    let capacity = 1024;
    while (capacity < 2 * (options.expected ?? 0)) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    // Room for the snapshot's emails and the run's records at once: each growth is a copy, and an
    // allocation this large makes V8 collect the whole heap.
    this.arena = Buffer.allocUnsafe(Math.max(64 * 1024, (options.expected ?? 0) * 56));
    this.grow(Math.max(512, options.expected ?? 0));
  }

  /** Entries: emails in the snapshot or selected. */
  get entries(): number {
    return this.size;
  }

  /**
   * Makes room for `more` entries beyond those held, at once: an index that grows by doubling as
   * entries come copies its cells and text several times, and holds the old and the new copy
   * together at the last step (tens of MB at a million contacts). Room never used costs little:
   * memory nobody writes to is not resident.
   */
  reserve(more: number): void {
    const wanted = this.size + Math.max(0, more);
    if (wanted * stride > this.cells.length) this.grow(wanted);
    let slots = this.slots.length;
    while (slots < 2 * wanted) slots *= 2;
    if (slots > this.slots.length) this.rehash(slots);
    // An email key and a winner's record, about 48 bytes of UTF-8 between them.
    const bytes = this.used + Math.max(0, more) * 48;
    if (bytes > this.arena.length) this.resizeArena(bytes);
  }

  /** Adds a snapshot member (each email once), before any `offer`. */
  addSnapshotMember(emailKey: string, fingerprint: readonly [number, number]): void {
    this.assertNotOffered();
    const at = this.findOrAdd(emailKey) * stride;
    const cells = this.cells;
    cells[at + flagsAt] = (cells[at + flagsAt] as number) | inSnapshot;
    cells[at + snapshotHiAt] = fingerprint[0];
    cells[at + snapshotLoAt] = fingerprint[1];
  }

  /**
   * `addSnapshotMember` of the email whose UTF-8 bytes are `bytes[start, end)`: copied into the
   * index as they are, hashed from the bytes when they are ASCII (their UTF-16 code units are the
   * same numbers) and the hash is the default one; else decoded first.
   */
  addSnapshotMemberBytes(bytes: Buffer, start: number, end: number, high: number, low: number): void {
    let hash = 0x811c9dc5;
    let ascii = this.hash === fnv1a32;
    for (let index = start; index < end && ascii; index++) {
      const byte = bytes[index] as number;
      ascii = byte < 0x80;
      hash ^= byte;
      hash = Math.imul(hash, 0x01000193);
    }
    if (!ascii) {
      this.addSnapshotMember(bytes.toString('utf8', start, end), [high, low]);
      return;
    }
    this.assertNotOffered();
    const at = this.findOrAddAscii(bytes, start, end, hash >>> 0) * stride;
    const cells = this.cells;
    cells[at + flagsAt] = (cells[at + flagsAt] as number) | inSnapshot;
    cells[at + snapshotHiAt] = high;
    cells[at + snapshotLoAt] = low;
  }

  /**
   * Offers a selected contact: it becomes its email's winner (the first of its email, or one with a
   * smaller key than the winner so far, which it displaces), or it loses to the winner. A winner's
   * result is one object the index reuses: read it before the next offer (a million rows pass).
   */
  offer(contact: IndexedContact): OfferResult {
    this.offered = true;
    const entry = this.findOrAdd(contact.emailKey);
    const at = entry * stride;
    const cells = this.cells;
    let flags = cells[at + flagsAt] as number;
    let displaced: DisplacedWinner | undefined;
    if ((flags & selected) !== 0) {
      const held = this.readWinner(cells[at + winnerAt] as number);
      if (compareCodePoints(contact.key, held.key) >= 0) return { kind: 'loser', winnerKey: held.key };
      displaced = {
        key: held.key,
        email: held.email ?? contact.emailKey,
        position: held.position,
        seq: cells[at + seqAt] as number,
      };
    }
    flags |= selected;
    if (
      (flags & inSnapshot) !== 0 &&
      (cells[at + snapshotHiAt] !== (contact.fingerprint[0] | 0) ||
        cells[at + snapshotLoAt] !== (contact.fingerprint[1] | 0))
    )
      flags |= differs;
    else flags &= ~differs;
    cells[at + flagsAt] = flags;
    cells[at + winnerAt] = this.writeWinner(contact);
    cells[at + seqAt] = -1;
    const result = this.winner;
    result.entry = entry;
    result.displaced = displaced;
    return result;
  }

  /** What the snapshot holds for an entry's winner: 0 nothing, 1 the same fingerprint, 2 another. */
  snapshotState(entry: number): 0 | 1 | 2 {
    const flags = this.cells[entry * stride + flagsAt] as number;
    if ((flags & inSnapshot) === 0) return 0;
    return (flags & differs) === 0 ? 1 : 2;
  }

  /**
   * Whether the snapshot may hold the entry's winner under the fingerprint earlier versions kept
   * (`contactFingerprint`), when its `snapshotState` is 2: its fingerprint was not translated yet.
   */
  mayHoldEarlierFingerprint(entry: number): boolean {
    return ((this.cells[entry * stride + flagsAt] as number) & translated) === 0;
  }

  /**
   * When the snapshot's fingerprint of the entry is `earlier` (the winner's in the earlier scheme):
   * takes the winner's own, `current`, for it (the same contact), and resolves the snapshot's
   * fingerprint it replaced; else undefined.
   */
  translateSnapshot(
    entry: number,
    earlier: readonly [number, number],
    current: readonly [number, number],
  ): [number, number] | undefined {
    const at = entry * stride;
    const cells = this.cells;
    const hi = (cells[at + snapshotHiAt] as number) >>> 0;
    const lo = (cells[at + snapshotLoAt] as number) >>> 0;
    if (hi !== earlier[0] >>> 0 || lo !== earlier[1] >>> 0) return undefined;
    cells[at + snapshotHiAt] = current[0];
    cells[at + snapshotLoAt] = current[1];
    cells[at + flagsAt] = ((cells[at + flagsAt] as number) | translated) & ~differs;
    return [hi, lo];
  }

  /** Records that an entry's winner is staged as `seq`. */
  setStaged(entry: number, seq: number): void {
    this.cells[entry * stride + seqAt] = seq;
  }

  /** Selected emails, and how they compare with the snapshot. */
  counts(): { contacts: number; adds: number; updates: number; unchanged: number } {
    const counts = { contacts: 0, adds: 0, updates: 0, unchanged: 0 };
    const cells = this.cells;
    for (let at = flagsAt; at < this.size * stride; at += stride) {
      const flags = cells[at] as number;
      if ((flags & selected) === 0) continue;
      counts.contacts += 1;
      if ((flags & inSnapshot) === 0) counts.adds += 1;
      else if ((flags & differs) === 0) counts.unchanged += 1;
      else counts.updates += 1;
    }
    return counts;
  }

  /** Snapshot members not selected: they left the selection. */
  *leaverEmails(): Generator<string> {
    const cells = this.cells;
    for (let at = 0; at < this.size * stride; at += stride) {
      if (((cells[at + flagsAt] as number) & (inSnapshot | selected)) === inSnapshot) {
        const start = cells[at + emailAt] as number;
        yield this.arena.toString('utf8', start, start + (cells[at + emailLengthAt] as number));
      }
    }
  }

  /** How many snapshot members are not selected. */
  leavers(): number {
    let count = 0;
    const cells = this.cells;
    for (let at = flagsAt; at < this.size * stride; at += stride)
      if (((cells[at] as number) & (inSnapshot | selected)) === inSnapshot) count += 1;
    return count;
  }

  /**
   * A winner's fingerprint is compared with the snapshot's as it is offered (`differs`): a snapshot
   * member added later would not be.
   */
  private assertNotOffered(): void {
    if (this.offered) throw new Error('ContactIndex: snapshot members are added before the first offer');
  }

  private findOrAdd(emailKey: string): number {
    const hash = this.hash(emailKey) | 0;
    const cells = this.cells;
    let slot = hash & this.mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) break;
      const entry = held - 1;
      if (cells[entry * stride + hashAt] === hash && this.holdsEmail(entry, emailKey)) return entry;
      slot = (slot + 1) & this.mask;
    }
    const offset = this.used;
    const length = this.writeText(emailKey);
    return this.addEntry(slot, hash, offset, length);
  }

  /** A new entry for the email stored at `offset` (its hash `hash`), in the free `slot`. */
  private addEntry(slot: number, hash: number, offset: number, length: number): number {
    if ((this.size + 1) * stride > this.cells.length) this.grow(this.size * 2);
    const entry = this.size;
    this.size += 1;
    const at = entry * stride;
    const cells = this.cells;
    cells[at + hashAt] = hash;
    cells[at + emailAt] = offset;
    cells[at + emailLengthAt] = length;
    cells[at + winnerAt] = -1;
    cells[at + seqAt] = -1;
    this.slots[slot] = entry + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return entry;
  }

  /** `findOrAdd` of an ASCII email given as its bytes, with its hash. */
  private findOrAddAscii(bytes: Buffer, start: number, end: number, unsigned: number): number {
    const hash = unsigned | 0;
    const length = end - start;
    const cells = this.cells;
    let slot = hash & this.mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) break;
      const at = (held - 1) * stride;
      if (cells[at + hashAt] === hash && (cells[at + emailLengthAt] as number) === length) {
        const from = cells[at + emailAt] as number;
        let same = true;
        for (let index = 0; index < length && same; index++)
          same = this.arena[from + index] === bytes[start + index];
        if (same) return held - 1;
      }
      slot = (slot + 1) & this.mask;
    }
    if (this.used + length > this.arena.length)
      this.resizeArena(Math.max(this.arena.length * 2, this.used + length));
    const offset = this.used;
    bytes.copy(this.arena, offset, start, end);
    this.used += length;
    return this.addEntry(slot, hash, offset, length);
  }

  /** The entry's email is `emailKey`, byte for byte (the confirmation of every hash match). */
  private holdsEmail(entry: number, emailKey: string): boolean {
    const at = entry * stride;
    const start = this.cells[at + emailAt] as number;
    const length = this.cells[at + emailLengthAt] as number;
    // UTF-8 takes at least one byte per UTF-16 code unit; as many only when every one is ASCII.
    if (length < emailKey.length) return false;
    const arena = this.arena;
    if (length === emailKey.length) {
      for (let index = 0; index < length; index++) {
        if (arena[start + index] !== emailKey.charCodeAt(index)) return false;
      }
      return true;
    }
    // Not ASCII: compare the bytes, written at the arena's free end and given back.
    const offset = this.used;
    const written = this.writeText(emailKey);
    this.used = offset;
    return (
      written === length &&
      this.arena.compare(this.arena, offset, offset + length, start, start + length) === 0
    );
  }

  /**
   * Appends the winner's record to the arena and resolves its offset: the position (a varint of
   * twice it when it is a whole number from 0 to 2^52, else 1 and its 8 bytes), then the key and the
   * email as sent, each as a varint of its byte length and its UTF-8; an email as sent that is the
   * email key is length 0 (never a real one: an email is never empty).
   */
  private writeWinner(contact: IndexedContact): number {
    const offset = this.used;
    const most = 9 + 2 * 5 + 3 * (contact.key.length + contact.email.length);
    if (this.used + most > this.arena.length)
      this.resizeArena(Math.max(this.arena.length * 2, this.used + most));
    const position = contact.position;
    if (Number.isInteger(position) && position >= 0 && position <= 2 ** 52) this.writeVarint(2 * position);
    else {
      this.arena[this.used] = 1;
      this.arena.writeDoubleLE(position, this.used + 1);
      this.used += 9;
    }
    this.writeSized(contact.key);
    if (contact.email === contact.emailKey) this.writeVarint(0);
    else this.writeSized(contact.email);
    return offset;
  }

  /** The winner's record at `offset` (see `writeWinner`); `email` undefined when it is the key. */
  private readWinner(offset: number): { key: string; email: string | undefined; position: number } {
    const arena = this.arena;
    let at = offset;
    let position: number;
    if (arena[at] === 1) {
      position = arena.readDoubleLE(at + 1);
      at += 9;
    } else {
      ({ value: position, at } = this.readVarint(at));
      position /= 2;
    }
    const keyLength = this.readVarint(at);
    const key = arena.toString('utf8', keyLength.at, keyLength.at + keyLength.value);
    at = keyLength.at + keyLength.value;
    const emailLength = this.readVarint(at);
    const email =
      emailLength.value === 0
        ? undefined
        : arena.toString('utf8', emailLength.at, emailLength.at + emailLength.value);
    return { key, email, position };
  }

  /** Appends `text` as a varint of its UTF-8 length and the bytes. */
  private writeSized(text: string): void {
    // The length goes first, so the bytes are written one varint's room on and moved when that guess
    // (the most the length can take) was long: a key is a few bytes, which makes the move rare.
    const room = text.length * 3 < 0x80 ? 1 : text.length * 3 < 0x4000 ? 2 : 5;
    const at = this.used;
    this.used += room;
    const length = this.writeText(text);
    let size = 1;
    for (let value = length; value >= 0x80; value = Math.floor(value / 0x80)) size++;
    if (size !== room) this.arena.copy(this.arena, at + size, at + room, at + room + length);
    this.used = at;
    this.writeVarint(length);
    this.used += length;
  }

  /** Appends `value` (a whole number from 0 to 2^53) as a little-endian base-128 varint. */
  private writeVarint(value: number): void {
    const arena = this.arena;
    let rest = value;
    while (rest >= 0x80) {
      arena[this.used++] = (rest % 0x80) + 0x80;
      rest = Math.floor(rest / 0x80);
    }
    arena[this.used++] = rest;
  }

  private readVarint(offset: number): { value: number; at: number } {
    const arena = this.arena;
    let value = 0;
    let scale = 1;
    let at = offset;
    for (;;) {
      const byte = arena[at++] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return { value, at };
      scale *= 0x80;
    }
  }

  /** Writes `text` at the arena's free end, as UTF-8; resolves its byte length. */
  private writeText(text: string): number {
    const most = text.length * 3;
    if (this.used + most > this.arena.length)
      this.resizeArena(Math.max(this.arena.length * 2, this.used + most));
    // ASCII, nearly every key and email, byte by byte: a call into Buffer.write costs more than a
    // short string's loop.
    const arena = this.arena;
    const at = this.used;
    const length = text.length;
    let index = 0;
    for (; index < length; index++) {
      const unit = text.charCodeAt(index);
      if (unit >= 0x80) break;
      arena[at + index] = unit;
    }
    const written = index === length ? length : arena.write(text, at, 'utf8');
    this.used += written;
    return written;
  }

  private resizeArena(bytes: number): void {
    const bigger = Buffer.allocUnsafe(bytes);
    this.arena.copy(bigger, 0, 0, this.used);
    this.arena = bigger;
  }

  private rehash(size = this.slots.length * 2): void {
    const slots = new Int32Array(size);
    const mask = slots.length - 1;
    const cells = this.cells;
    for (let entry = 0; entry < this.size; entry++) {
      let slot = (cells[entry * stride + hashAt] as number) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private grow(capacity: number): void {
    const bigger = new Int32Array(capacity * stride);
    bigger.set(this.cells.subarray(0, this.size * stride));
    this.cells = bigger;
  }
}
