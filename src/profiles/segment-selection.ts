import type { RowSource } from './adapters/source-adapters';
import type { RowIssueSink } from './row-issue';
import { formatRowLocation } from './row-location';
import { SourceError } from './source-error';
import { batchRows } from './source-record';
import { ownSourceRowsProvider, type SourceRowProvider } from './source-row-provider';

/**
 * Segments are remembered per member as bits of one number; arithmetic (not 32-bit bitwise
 * operators) keeps every bit exact up to 2^52, so a destination may select up to 52 segments.
 */
export const maxSelectedSegments = 52;

/**
 * Distinct unselected segment names a membership pass remembers, at most: near misses are looked
 * for among the first this many (a source with a segment per row must not fill the memory). A read
 * that routes rows (`SharedSourceRead`) must know it to hand each pass the rows it would look at.
 */
export const maxUnselectedSegments = 10_000;

/**
 * The members of a destination's selected segments: key → which of those segments the key is in.
 * Memory is one entry per distinct selected member, whatever the size of the membership source,
 * kept outside the JavaScript heap (a million members would otherwise be a million strings and
 * map entries that every garbage collection walks): each key's UTF-16 code units in one arena, one
 * byte each while every unit of every key fits in one (Latin-1: nearly all keys; the arena widens
 * to two bytes a unit once one does not), found by a hash of them (open addressing), every hash
 * match confirmed on the code units, so keys compare exactly as strings do. A key's units end where
 * the next key's begin: no length is kept. About 40–56 bytes per member. Built by
 * `selectSegmentMembers`.
 *
 * A selection is read by one profile pass: `claim` records that a key met its profile row.
 */
export class SegmentSelection {
  /** The selected segment names, in the destination's order; bit i of a mask stands for [i]. */
  readonly segments: readonly string[];
  private readonly namesByMask = new Map<number, readonly string[]>();
  private readonly perSegment: number[];
  private count = 0;
  /**
   * The hash table: per slot, the entry (+1; 0 for none) and its key's hash side by side, so that
   * a lookup that finds nothing (most of them: a profile pass asks for every row) reads one cache
   * line. With many destinations on one read (`run --all`), a lookup in each selection per row;
   * an entry's arrays read for every probe were a cache miss each.
   */
  private slots = new Int32Array(2 * 1024);
  private units: Uint8Array | Uint16Array = new Uint8Array(16 * 1024);
  /** Whether `units` holds two bytes a unit (a key with a unit above U+00FF was added). */
  private wide = false;
  private used = 0;
  // Per entry: the hash, where the key's units end (they start where the entry before's end), the
  // mask. A claimed key keeps its mask, negated.
  private hashes = new Uint32Array(512);
  private ends = new Uint32Array(512);
  private masks = new Float64Array(512);

  constructor(segments: readonly string[]) {
    if (segments.length > maxSelectedSegments)
      throw new SourceError(
        'source-too-many-segments',
        `a destination selects ${segments.length} segments; at most ${maxSelectedSegments} are supported`,
        { hint: 'split the destination into several, each with fewer segments' },
      );
    this.segments = [...segments];
    this.perSegment = segments.map(() => 0);
  }

  /** Distinct keys in at least one selected segment. */
  get size(): number {
    return this.count;
  }

  /** How many distinct members each selected segment has, by segment name. */
  membersPerSegment(): Record<string, number> {
    return Object.fromEntries(this.segments.map((segment, index) => [segment, this.perSegment[index] ?? 0]));
  }

  /** Adds `key` to selected segment number `index` (idempotent). */
  add(key: string, index: number): void {
    const bit = 2 ** index;
    const hash = keyHash(key);
    let entry = this.find(key, hash);
    if (entry === -1) entry = this.insert(key, hash);
    const mask = this.masks[entry] as number;
    if (Math.floor(mask / bit) % 2 === 1) return;
    this.masks[entry] = mask + bit;
    this.perSegment[index] = (this.perSegment[index] ?? 0) + 1;
  }

  /** Whether `key` is a member of some selected segment. */
  has(key: string): boolean {
    return this.find(key, keyHash(key)) !== -1;
  }

  /**
   * The selected segments `key` is in (the same array for every key with the same segments), or
   * undefined when it is in none. Still answers after `claim`.
   */
  segmentsOf(key: string): readonly string[] | undefined {
    const entry = this.find(key, keyHash(key));
    return entry === -1 ? undefined : this.namesOf(Math.abs(this.masks[entry] as number));
  }

  /**
   * For the profile pass: the segments of `key` the first time it is claimed, `'claimed'` on every
   * later call (a second profile row with this key), undefined when the key is not selected.
   */
  claim(key: string): readonly string[] | 'claimed' | undefined {
    const entry = this.find(key, keyHash(key));
    if (entry === -1) return undefined;
    const mask = this.masks[entry] as number;
    if (mask < 0) return 'claimed';
    this.masks[entry] = -mask;
    return this.namesOf(mask);
  }

  /**
   * The hash of entry `entry` (0 to `size` - 1, in the order keys were added), as a lookup computes
   * it: with `keyIs` and `sameKey`, what lets a `SelectionUnion` index the keys of several
   * selections without copying them.
   */
  hashOf(entry: number): number {
    return this.hashes[entry] as number;
  }

  /** Whether entry `entry` holds exactly `key`. */
  keyIs(entry: number, key: string): boolean {
    const length = key.length;
    const offset = this.startOf(entry);
    if ((this.ends[entry] as number) - offset !== length) return false;
    for (let index = 0; index < length; index++)
      if (this.units[offset + index] !== key.charCodeAt(index)) return false;
    return true;
  }

  /** Whether entry `entry` holds the same key as entry `otherEntry` of `other`. */
  sameKey(entry: number, other: SegmentSelection, otherEntry: number): boolean {
    const offset = this.startOf(entry);
    const length = (this.ends[entry] as number) - offset;
    const otherOffset = other.startOf(otherEntry);
    if ((other.ends[otherEntry] as number) - otherOffset !== length) return false;
    for (let index = 0; index < length; index++)
      if (this.units[offset + index] !== other.units[otherOffset + index]) return false;
    return true;
  }

  /** Selected members whose profile row has not been claimed (after a pass: members with no profile). */
  unclaimed(): number {
    let count = 0;
    for (let entry = 0; entry < this.count; entry++) if ((this.masks[entry] as number) > 0) count++;
    return count;
  }

  private namesOf(mask: number): readonly string[] {
    let names = this.namesByMask.get(mask);
    if (names === undefined) {
      names = this.segments.filter((_, index) => Math.floor(mask / 2 ** index) % 2 === 1);
      this.namesByMask.set(mask, names);
    }
    return names;
  }

  /** Where entry `entry`'s key's units start in `units`. */
  private startOf(entry: number): number {
    return entry === 0 ? 0 : (this.ends[entry - 1] as number);
  }

  /** The entry holding `key` (confirmed unit by unit), or -1. */
  private find(key: string, hash: number): number {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    const length = key.length;
    const signed = hash | 0;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = slots[2 * slot] as number;
      if (held === 0) return -1;
      if (slots[2 * slot + 1] !== signed) continue;
      const entry = held - 1;
      const offset = entry === 0 ? 0 : (this.ends[entry - 1] as number);
      if ((this.ends[entry] as number) - offset !== length) continue;
      let same = true;
      for (let index = 0; index < length; index++) {
        if (this.units[offset + index] !== key.charCodeAt(index)) {
          same = false;
          break;
        }
      }
      if (same) return entry;
    }
  }

  /** A new entry for `key` (not held yet), mask 0. */
  private insert(key: string, hash: number): number {
    const entry = this.count;
    if (entry === this.hashes.length) this.growEntries();
    let wide = this.wide;
    for (let index = 0; index < key.length && !wide; index++) wide = key.charCodeAt(index) > 0xff;
    if (this.used + key.length > this.units.length || wide !== this.wide) {
      const size = Math.max(
        this.units.length * (this.used + key.length > this.units.length ? 2 : 1),
        this.used + key.length,
      );
      const bigger = wide ? new Uint16Array(size) : new Uint8Array(size);
      bigger.set(this.units.subarray(0, this.used));
      this.units = bigger;
      this.wide = wide;
    }
    for (let index = 0; index < key.length; index++) this.units[this.used + index] = key.charCodeAt(index);
    this.hashes[entry] = hash;
    this.masks[entry] = 0;
    this.used += key.length;
    this.ends[entry] = this.used;
    this.count += 1;
    if (this.count * 4 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(this.slots, entry);
    return entry;
  }

  private place(slots: Int32Array, entry: number): void {
    const mask = (slots.length >> 1) - 1;
    const hash = this.hashes[entry] as number;
    let slot = hash & mask;
    while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = entry + 1;
    slots[2 * slot + 1] = hash | 0;
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size);
    for (let entry = 0; entry < this.count; entry++) this.place(slots, entry);
    this.slots = slots;
  }

  private growEntries(): void {
    const size = this.hashes.length * 2;
    const grow = <T extends Uint32Array | Float64Array>(array: T, make: (n: number) => T): T => {
      const bigger = make(size);
      bigger.set(array);
      return bigger;
    };
    this.hashes = grow(this.hashes, (n) => new Uint32Array(n));
    this.ends = grow(this.ends, (n) => new Uint32Array(n));
    this.masks = grow(this.masks, (n) => new Float64Array(n));
  }
}

/**
 * FNV-1a over a string's UTF-16 code units, 32 bits: only a way to find candidates. The hash a
 * `SegmentSelection` keeps per key (`hashOf`), so that a `SelectionUnion` finds keys by it too.
 */
export function keyHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** What a membership pass read, beyond the selection itself. */
export interface MembershipReadSummary {
  /** Rows read from the membership source (every segment), unreadable ones included. */
  readonly rows: number;
  /**
   * Segment names found in the source that are not selected but equal a selected one when case and
   * surrounding spaces are ignored: probably a typo in the manifest or the data (max 20, by name).
   */
  readonly nearMisses: readonly { readonly found: string; readonly selected: string }[];
}

/**
 * Streams the membership rows of `source` (fields: `keyField`, `segmentField`) and keeps the keys
 * of rows whose segment is one of `segments`. Segment names match **exactly: case-sensitive, no
 * trimming** ("VIP" does not select "vip" or "VIP "); near misses are listed in the summary so a
 * caller can warn. Keys are compared exactly as read too. A selected row with an empty key is a
 * `missing-key` issue; an unreadable row is reported unless it is known to belong to another
 * segment. Rejects with a SourceError when the source cannot be read (see `readSourceRows`) or more
 * than `maxSelectedSegments` segments are selected.
 */
export async function selectSegmentMembers(
  source: RowSource,
  keyField: string,
  segmentField: string,
  segments: readonly string[],
  onIssue: RowIssueSink,
  provider: SourceRowProvider = ownSourceRowsProvider,
): Promise<{ selection: SegmentSelection; summary: MembershipReadSummary }> {
  const selection = new SegmentSelection(segments);
  const indexOf = new Map(segments.map((segment, index) => [segment, index]));
  const looselySelected = new Map(segments.map((segment) => [loosely(segment), segment]));
  const nearMisses = new Map<string, string>();
  const unselected = new Set<string>();
  let rows = 0;
  const only = { kind: 'segments', segmentField, segments } as const;
  for await (const batch of provider.rowBatches(source, [keyField, segmentField], { only })) {
    rows += batchRows(batch);
    for (const record of batch) {
      if (record.warning !== undefined) onIssue(record.warning);
      const [key, segment] = record.values;
      const index = segment === undefined ? undefined : indexOf.get(segment);
      if (record.issue !== undefined) {
        if (segment === undefined || index !== undefined)
          onIssue(key ? { ...record.issue, key } : record.issue);
        continue;
      }
      if (index === undefined) {
        if (segment !== undefined && !unselected.has(segment) && unselected.size < maxUnselectedSegments) {
          unselected.add(segment);
          const selected = looselySelected.get(loosely(segment));
          if (selected !== undefined && nearMisses.size < 20) nearMisses.set(segment, selected);
        }
        continue;
      }
      if (!key) {
        onIssue({
          severity: 'error',
          code: 'missing-key',
          message: `${formatRowLocation(record.where)}: a "${segment}" membership row has no ${keyField}; it is ignored`,
          where: record.where,
          field: keyField,
        });
        continue;
      }
      selection.add(key, index);
    }
  }
  const misses = [...nearMisses].map(([found, selected]) => ({ found, selected }));
  misses.sort((a, b) => (a.found < b.found ? -1 : a.found > b.found ? 1 : 0));
  return { selection, summary: { rows, nearMisses: misses } };
}

function loosely(segment: string): string {
  return segment.trim().toLowerCase();
}
