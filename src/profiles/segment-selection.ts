import type { RowSource } from './adapters/source-adapters';
import type { RowIssueSink } from './row-issue';
import { formatRowLocation } from './row-location';
import { SourceError } from './source-error';
import { ownSourceRowsProvider, type SourceRowProvider } from './source-row-provider';

/**
 * Segments are remembered per member as bits of one number; arithmetic (not 32-bit bitwise
 * operators) keeps every bit exact up to 2^52, so a destination may select up to 52 segments.
 */
export const maxSelectedSegments = 52;

/**
 * The members of a destination's selected segments: key → which of those segments the key is in.
 * Memory is one map entry (key string and a number) per distinct selected member, whatever the
 * size of the membership source. Built by `selectSegmentMembers`.
 *
 * A selection is read by one profile pass: `claim` records that a key met its profile row.
 */
export class SegmentSelection {
  /** The selected segment names, in the destination's order; bit i of a mask stands for [i]. */
  readonly segments: readonly string[];
  private readonly masks = new Map<string, number>();
  private readonly namesByMask = new Map<number, readonly string[]>();
  private readonly perSegment: number[];

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
    return this.masks.size;
  }

  /** How many distinct members each selected segment has, by segment name. */
  membersPerSegment(): Record<string, number> {
    return Object.fromEntries(this.segments.map((segment, index) => [segment, this.perSegment[index] ?? 0]));
  }

  /** Adds `key` to selected segment number `index` (idempotent). */
  add(key: string, index: number): void {
    const bit = 2 ** index;
    const mask = this.masks.get(key) ?? 0;
    if (Math.floor(mask / bit) % 2 === 1) return;
    this.masks.set(key, mask + bit);
    this.perSegment[index] = (this.perSegment[index] ?? 0) + 1;
  }

  /** Whether `key` is a member of some selected segment. */
  has(key: string): boolean {
    return this.masks.has(key);
  }

  /**
   * The selected segments `key` is in (the same array for every key with the same segments), or
   * undefined when it is in none. Still answers after `claim`.
   */
  segmentsOf(key: string): readonly string[] | undefined {
    const mask = this.masks.get(key);
    return mask === undefined ? undefined : this.namesOf(Math.abs(mask));
  }

  /**
   * For the profile pass: the segments of `key` the first time it is claimed, `'claimed'` on every
   * later call (a second profile row with this key), undefined when the key is not selected.
   */
  claim(key: string): readonly string[] | 'claimed' | undefined {
    const mask = this.masks.get(key);
    if (mask === undefined) return undefined;
    if (mask < 0) return 'claimed';
    // A claimed key keeps its mask, negated: no second structure, so memory stays one map.
    this.masks.set(key, -mask);
    return this.namesOf(mask);
  }

  /** Selected members whose profile row has not been claimed (after a pass: members with no profile). */
  unclaimed(): number {
    let count = 0;
    for (const mask of this.masks.values()) if (mask > 0) count++;
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
  for await (const batch of provider.rowBatches(source, [keyField, segmentField], {})) {
    for (const record of batch) {
      rows++;
      if (record.warning !== undefined) onIssue(record.warning);
      const [key, segment] = record.values;
      const index = segment === undefined ? undefined : indexOf.get(segment);
      if (record.issue !== undefined) {
        if (segment === undefined || index !== undefined)
          onIssue(key ? { ...record.issue, key } : record.issue);
        continue;
      }
      if (index === undefined) {
        if (segment !== undefined && !unselected.has(segment) && unselected.size < 10_000) {
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
