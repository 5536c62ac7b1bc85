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
const noLength = 0xffffffff;

/**
 * The destination's snapshot and the run's selected contacts in one compact in-memory index, one
 * entry per email: the snapshot's fingerprint of it, and the run's winner for it (the profile with
 * the smallest key by code point), compared as the rows are read. Strings live in one byte arena
 * and numbers in typed arrays (about 60 bytes per contact, outside the JavaScript heap), found by a
 * hash of the email (open addressing); a hash match is confirmed on the email's bytes, so emails
 * that share a hash stay two contacts (an injected weak hash in the tests makes every email
 * collide).
 */
export class ContactIndex {
  private readonly hash: EmailHash;
  private slots: Int32Array;
  private mask: number;
  private size = 0;
  private arena: Buffer;
  private used = 0;
  /** The byte length of the last `store`. */
  private stored = 0;
  private readonly winner: { kind: 'winner'; entry: number; displaced: DisplacedWinner | undefined } = {
    kind: 'winner',
    entry: 0,
    displaced: undefined,
  };
  // Per entry.
  private hashes = new Uint32Array(0);
  private emailOffset = new Uint32Array(0);
  private emailLength = new Uint32Array(0);
  private flags = new Uint8Array(0);
  private snapshotHi = new Uint32Array(0);
  private snapshotLo = new Uint32Array(0);
  private keyOffset = new Uint32Array(0);
  private keyLength = new Uint32Array(0);
  /** The winner's email as sent, when it differs from the email key (else noLength). */
  private sentOffset = new Uint32Array(0);
  private sentLength = new Uint32Array(0);
  private position = new Float64Array(0);
  private runHi = new Uint32Array(0);
  private runLo = new Uint32Array(0);
  private seqs = new Int32Array(0);

  constructor(options: { readonly hash?: EmailHash; readonly expected?: number } = {}) {
    this.hash = options.hash ?? fnv1a32;
    let capacity = 1024;
    while (capacity < 2 * (options.expected ?? 0)) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    // Room for the snapshot's emails and the run's keys at once: each growth is a copy, and an
    // allocation this large makes V8 collect the whole heap.
    this.arena = Buffer.allocUnsafe(Math.max(64 * 1024, (options.expected ?? 0) * 64));
    this.grow(Math.max(512, options.expected ?? 0));
  }

  /** Entries: emails in the snapshot or selected. */
  get entries(): number {
    return this.size;
  }

  /**
   * Makes room for `more` entries beyond those held, at once: an index that grows by doubling as
   * entries come copies every array and its text several times, and holds the old and the new
   * copy together at the last step (tens of MB at a million contacts). Room never used costs
   * little: memory nobody writes to is not resident.
   */
  reserve(more: number): void {
    const wanted = this.size + Math.max(0, more);
    if (wanted > this.hashes.length) this.grow(wanted);
    let slots = this.slots.length;
    while (slots < 2 * wanted) slots *= 2;
    if (slots > this.slots.length) this.rehash(slots);
    // An email key and a profile key, about 48 bytes of UTF-8 between them.
    const bytes = this.used + Math.max(0, more) * 48;
    if (bytes > this.arena.length) this.resizeArena(bytes);
  }

  /** Adds a snapshot member (each email once). */
  addSnapshotMember(emailKey: string, fingerprint: readonly [number, number]): void {
    const entry = this.findOrAdd(emailKey);
    this.flags[entry] = (this.flags[entry] as number) | inSnapshot;
    this.snapshotHi[entry] = fingerprint[0];
    this.snapshotLo[entry] = fingerprint[1];
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
    const entry = this.findOrAddAscii(bytes, start, end, hash >>> 0);
    this.flags[entry] = (this.flags[entry] as number) | inSnapshot;
    this.snapshotHi[entry] = high;
    this.snapshotLo[entry] = low;
  }

  /**
   * Offers a selected contact: it becomes its email's winner (the first of its email, or one with a
   * smaller key than the winner so far, which it displaces), or it loses to the winner. A winner's
   * result is one object the index reuses: read it before the next offer (a million rows pass).
   */
  offer(contact: IndexedContact): OfferResult {
    const entry = this.findOrAdd(contact.emailKey);
    const flags = this.flags[entry] as number;
    let displaced: DisplacedWinner | undefined;
    if ((flags & selected) !== 0) {
      const winnerKey = this.text(this.keyOffset[entry] as number, this.keyLength[entry] as number);
      if (compareCodePoints(contact.key, winnerKey) >= 0) return { kind: 'loser', winnerKey };
      const sentLength = this.sentLength[entry] as number;
      displaced = {
        key: winnerKey,
        email:
          sentLength === noLength
            ? contact.emailKey
            : this.text(this.sentOffset[entry] as number, sentLength),
        position: this.position[entry] as number,
        seq: this.seqs[entry] as number,
      };
    }
    this.flags[entry] = flags | selected;
    this.keyOffset[entry] = this.store(contact.key);
    this.keyLength[entry] = this.stored;
    if (contact.email === contact.emailKey) this.sentLength[entry] = noLength;
    else {
      this.sentOffset[entry] = this.store(contact.email);
      this.sentLength[entry] = this.stored;
    }
    this.position[entry] = contact.position;
    this.runHi[entry] = contact.fingerprint[0];
    this.runLo[entry] = contact.fingerprint[1];
    this.seqs[entry] = -1;
    const result = this.winner;
    result.entry = entry;
    result.displaced = displaced;
    return result;
  }

  /** What the snapshot holds for an entry's winner: 0 nothing, 1 the same fingerprint, 2 another. */
  snapshotState(entry: number): 0 | 1 | 2 {
    if (((this.flags[entry] as number) & inSnapshot) === 0) return 0;
    return this.snapshotHi[entry] === this.runHi[entry] && this.snapshotLo[entry] === this.runLo[entry]
      ? 1
      : 2;
  }

  /**
   * Whether the snapshot may hold the entry's winner under the fingerprint earlier versions kept
   * (`contactFingerprint`), when its `snapshotState` is 2: its fingerprint was not translated yet.
   */
  mayHoldEarlierFingerprint(entry: number): boolean {
    return ((this.flags[entry] as number) & translated) === 0;
  }

  /**
   * When the snapshot's fingerprint of the entry is `earlier` (the winner's in the earlier scheme):
   * takes it for the winner's own (the same contact), and resolves the snapshot's fingerprint it
   * replaced; else undefined.
   */
  translateSnapshot(entry: number, earlier: readonly [number, number]): [number, number] | undefined {
    const hi = this.snapshotHi[entry] as number;
    const lo = this.snapshotLo[entry] as number;
    if (hi !== earlier[0] || lo !== earlier[1]) return undefined;
    this.snapshotHi[entry] = this.runHi[entry] as number;
    this.snapshotLo[entry] = this.runLo[entry] as number;
    this.flags[entry] = (this.flags[entry] as number) | translated;
    return [hi, lo];
  }

  /** Records that an entry's winner is staged as `seq`. */
  setStaged(entry: number, seq: number): void {
    this.seqs[entry] = seq;
  }

  /** Selected emails, and how they compare with the snapshot. */
  counts(): { contacts: number; adds: number; updates: number; unchanged: number } {
    const counts = { contacts: 0, adds: 0, updates: 0, unchanged: 0 };
    for (let entry = 0; entry < this.size; entry++) {
      if (((this.flags[entry] as number) & selected) === 0) continue;
      counts.contacts += 1;
      const state = this.snapshotState(entry);
      if (state === 0) counts.adds += 1;
      else if (state === 1) counts.unchanged += 1;
      else counts.updates += 1;
    }
    return counts;
  }

  /** Snapshot members not selected: they left the selection. */
  *leaverEmails(): Generator<string> {
    for (let entry = 0; entry < this.size; entry++) {
      if (((this.flags[entry] as number) & (inSnapshot | selected)) === inSnapshot)
        yield this.text(this.emailOffset[entry] as number, this.emailLength[entry] as number);
    }
  }

  /** How many snapshot members are not selected. */
  leavers(): number {
    let count = 0;
    for (let entry = 0; entry < this.size; entry++)
      if (((this.flags[entry] as number) & (inSnapshot | selected)) === inSnapshot) count += 1;
    return count;
  }

  private findOrAdd(emailKey: string): number {
    const hash = this.hash(emailKey) >>> 0;
    let slot = hash & this.mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) break;
      const entry = held - 1;
      if (this.hashes[entry] === hash && this.holdsEmail(entry, emailKey)) return entry;
      slot = (slot + 1) & this.mask;
    }
    const offset = this.store(emailKey);
    return this.addEntry(slot, hash, offset, this.stored);
  }

  /** A new entry for the email stored at `offset` (its hash `hash`), in the free `slot`. */
  private addEntry(slot: number, hash: number, offset: number, length: number): number {
    if (this.size >= this.hashes.length) this.grow(this.size * 2);
    const entry = this.size;
    this.size += 1;
    this.hashes[entry] = hash;
    this.emailOffset[entry] = offset;
    this.emailLength[entry] = length;
    this.slots[slot] = entry + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return entry;
  }

  /** `findOrAdd` of an ASCII email given as its bytes, with its hash. */
  private findOrAddAscii(bytes: Buffer, start: number, end: number, hash: number): number {
    const length = end - start;
    let slot = hash & this.mask;
    for (;;) {
      const held = this.slots[slot] as number;
      if (held === 0) break;
      const entry = held - 1;
      if (this.hashes[entry] === hash && (this.emailLength[entry] as number) === length) {
        const at = this.emailOffset[entry] as number;
        let same = true;
        for (let index = 0; index < length && same; index++)
          same = this.arena[at + index] === bytes[start + index];
        if (same) return entry;
      }
      slot = (slot + 1) & this.mask;
    }
    if (this.used + length > this.arena.length)
      this.resizeArena(Math.max(this.arena.length * 2, this.used + length));
    const offset = this.used;
    for (let index = 0; index < length; index++) this.arena[offset + index] = bytes[start + index] as number;
    this.used += length;
    return this.addEntry(slot, hash, offset, length);
  }

  /** The entry's email is `emailKey`, byte for byte (the confirmation of every hash match). */
  private holdsEmail(entry: number, emailKey: string): boolean {
    const start = this.emailOffset[entry] as number;
    const length = this.emailLength[entry] as number;
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
    const offset = this.store(emailKey);
    const written = this.stored;
    this.used = offset;
    return (
      written === length &&
      this.arena.compare(this.arena, offset, offset + length, start, start + length) === 0
    );
  }

  /** Writes `text` at the arena's free end; resolves its offset (its byte length: `stored`). */
  private store(text: string): number {
    const most = text.length * 3;
    if (this.used + most > this.arena.length)
      this.resizeArena(Math.max(this.arena.length * 2, this.used + most));
    const offset = this.used;
    this.stored = this.arena.write(text, offset, 'utf8');
    this.used += this.stored;
    return offset;
  }

  private text(offset: number, length: number): string {
    return this.arena.toString('utf8', offset, offset + length);
  }

  private resizeArena(bytes: number): void {
    const bigger = Buffer.allocUnsafe(bytes);
    this.arena.copy(bigger, 0, 0, this.used);
    this.arena = bigger;
  }

  private rehash(size = this.slots.length * 2): void {
    const slots = new Int32Array(size);
    const mask = slots.length - 1;
    for (let entry = 0; entry < this.size; entry++) {
      let slot = (this.hashes[entry] as number) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  private grow(capacity: number): void {
    const resize = <T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(
      array: T,
      make: (n: number) => T,
    ): T => {
      const bigger = make(capacity);
      bigger.set(array);
      return bigger;
    };
    this.hashes = resize(this.hashes, (n) => new Uint32Array(n));
    this.emailOffset = resize(this.emailOffset, (n) => new Uint32Array(n));
    this.emailLength = resize(this.emailLength, (n) => new Uint32Array(n));
    this.flags = resize(this.flags, (n) => new Uint8Array(n));
    this.snapshotHi = resize(this.snapshotHi, (n) => new Uint32Array(n));
    this.snapshotLo = resize(this.snapshotLo, (n) => new Uint32Array(n));
    this.keyOffset = resize(this.keyOffset, (n) => new Uint32Array(n));
    this.keyLength = resize(this.keyLength, (n) => new Uint32Array(n));
    this.sentOffset = resize(this.sentOffset, (n) => new Uint32Array(n));
    this.sentLength = resize(this.sentLength, (n) => new Uint32Array(n));
    this.position = resize(this.position, (n) => new Float64Array(n));
    this.runHi = resize(this.runHi, (n) => new Uint32Array(n));
    this.runLo = resize(this.runLo, (n) => new Uint32Array(n));
    this.seqs = resize(this.seqs, (n) => new Int32Array(n));
  }
}
