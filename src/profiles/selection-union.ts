import { keyHash, type SegmentSelection } from './segment-selection';

const noMembers: readonly number[] = [];

/**
 * Which of several selections hold a key: what lets a read shared by several destinations
 * (`SharedSourceRead`) look each profile row's key up once for all of them, instead of once per
 * destination. Read-only, built once the selections are complete.
 *
 * Compact like the selections themselves: no string per key. An entry refers to the key in the
 * first selection that holds it (its code units stay in that selection's arena), and names the set
 * of selections holding it by a number: the distinct sets are few (destinations overlap in few
 * ways), each an array kept once. A lookup is one hash of the key and one probe, confirmed on the
 * code units.
 */
export class SelectionUnion {
  /** Per slot: the entry (+1; 0 for none) and its key's hash side by side, as in `SegmentSelection`. */
  private readonly slots: Int32Array;
  // Per entry: the selection holding the key first, the key's entry there, the set holding it.
  private readonly owners: Uint32Array;
  private readonly ownerEntries: Uint32Array;
  private readonly memberSets: Uint32Array;
  /** The distinct sets of selections (indices, ascending); set 0 is the empty one. */
  private readonly sets: (readonly number[])[] = [noMembers];
  private count = 0;

  /** Indexes the keys of `selections` (not to be changed while the union is in use). */
  constructor(private readonly selections: readonly SegmentSelection[]) {
    let total = 0;
    for (const selection of selections) total += selection.size;
    let size = 16;
    while (size < 2 * total) size *= 2;
    this.slots = new Int32Array(2 * size);
    this.owners = new Uint32Array(total);
    this.ownerEntries = new Uint32Array(total);
    this.memberSets = new Uint32Array(total);
    const joined = new Map<number, number>();
    selections.forEach((selection, member) => {
      for (let entry = 0; entry < selection.size; entry++) {
        const at = this.entryOf(member, entry);
        this.memberSets[at] = this.joinSet(this.memberSets[at] as number, member, joined);
      }
    });
  }

  /** Distinct keys held by at least one selection. */
  get size(): number {
    return this.count;
  }

  /**
   * The selections holding `key` (their indices in the order given, ascending; the same array for
   * every key held by the same ones), empty when none does.
   */
  membersOf(key: string): readonly number[] {
    const hash = keyHash(key);
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    const signed = hash | 0;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = slots[2 * slot] as number;
      if (held === 0) return noMembers;
      if (slots[2 * slot + 1] !== signed) continue;
      const entry = held - 1;
      const owner = this.selections[this.owners[entry] as number] as SegmentSelection;
      if (owner.keyIs(this.ownerEntries[entry] as number, key))
        return this.sets[this.memberSets[entry] as number] ?? noMembers;
    }
  }

  /** The entry of the key of selection `member`'s entry `entry`, added (in set 0) when it is new. */
  private entryOf(member: number, entry: number): number {
    const selection = this.selections[member] as SegmentSelection;
    const hash = selection.hashOf(entry);
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    const signed = hash | 0;
    let slot = hash & mask;
    for (; ; slot = (slot + 1) & mask) {
      const held = slots[2 * slot] as number;
      if (held === 0) break;
      if (slots[2 * slot + 1] !== signed) continue;
      const found = held - 1;
      const owner = this.selections[this.owners[found] as number] as SegmentSelection;
      if (owner.sameKey(this.ownerEntries[found] as number, selection, entry)) return found;
    }
    const added = this.count++;
    this.owners[added] = member;
    this.ownerEntries[added] = entry;
    slots[2 * slot] = added + 1;
    slots[2 * slot + 1] = signed;
    return added;
  }

  /** The set of set `set`'s selections and `member` (greater than all of them), interned. */
  private joinSet(set: number, member: number, joined: Map<number, number>): number {
    const step = set * this.selections.length + member;
    let next = joined.get(step);
    if (next === undefined) {
      next = this.sets.push([...(this.sets[set] ?? noMembers), member]) - 1;
      joined.set(step, next);
    }
    return next;
  }
}
