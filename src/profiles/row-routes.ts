import { maxSelectedSegments, maxUnselectedSegments } from './segment-selection';
import { SelectionUnion } from './selection-union';
import type { SourceRowFilter } from './source-adapter';
import { batchRows, type SourceRecord, type SourceRecordBatch } from './source-record';

/**
 * How a read shared by several members (`SharedSourceRead`) splits each batch among them: each
 * member is handed only the rows its own pass would not ignore, so that its work is in proportion
 * to its rows, not to the whole source, and every row is looked at once, here, for all of them.
 */
export interface RowRoutes {
  /**
   * `batch` split per member (by the index of its filter): the rows that member's pass would not
   * ignore, in source order, each batch's `routedAway` counting the others.
   */
  split(batch: SourceRecordBatch): SourceRecordBatch[];
}

type SegmentsFilter = Extract<SourceRowFilter, { kind: 'segments' }>;
type MembersFilter = Extract<SourceRowFilter, { kind: 'members' }>;

const noMembers: readonly number[] = [];

/**
 * The routes of members that read `fields` with `filters` (one per member), or undefined when the
 * rows cannot be routed: a member without a filter, filters of different kinds, or a profile filter
 * without its `selection`. Then every member must be handed every row.
 *
 * What each member is handed is what its pass needs for its result to be the one of a read of its
 * own, and no more:
 * - membership (`segments`, read by `selectSegmentMembers`): the rows of its segments (exactly),
 *   unreadable rows of its segments or of none, and the first readable row of every other segment
 *   (it is the one a pass looks at for a near miss: later rows of that segment are ignored), as long
 *   as a pass would still remember it (`maxUnselectedSegments`);
 * - profiles (`members`, read by `readContacts`): the rows whose key its selection holds, duplicates
 *   included, and unreadable rows without a key;
 * - and to every member, every row with a `warning`: each reports it, selected or not.
 */
export function rowRoutes(
  fields: readonly string[],
  filters: readonly (SourceRowFilter | undefined)[],
): RowRoutes | undefined {
  const segments = filtersOf(filters, 'segments');
  if (segments !== undefined) return segmentRoutes(fields, segments);
  const members = filtersOf(filters, 'members');
  if (members !== undefined) return keyRoutes(fields, members);
  return undefined;
}

/** `filters` when each is of `kind` (and there is one at least), else undefined. */
function filtersOf<K extends SourceRowFilter['kind']>(
  filters: readonly (SourceRowFilter | undefined)[],
  kind: K,
): Extract<SourceRowFilter, { kind: K }>[] | undefined {
  const found: Extract<SourceRowFilter, { kind: K }>[] = [];
  for (const filter of filters) {
    if (filter?.kind !== kind) return undefined;
    found.push(filter as Extract<SourceRowFilter, { kind: K }>);
  }
  return found.length === 0 ? undefined : found;
}

/** The index in `fields` of the field every one of `named` names, or undefined (-1 or not alike). */
function fieldAt(fields: readonly string[], named: readonly string[]): number | undefined {
  const at = fields.indexOf(named[0] ?? '');
  if (at === -1 || named.some((name) => fields.indexOf(name) !== at)) return undefined;
  return at;
}

/** What the members of one segment are routed, and whether a readable row of it has come yet. */
interface SegmentRoute {
  readonly members: readonly number[];
  seen: boolean;
}

function segmentRoutes(fields: readonly string[], filters: readonly SegmentsFilter[]): RowRoutes | undefined {
  const at = fieldAt(
    fields,
    filters.map((filter) => filter.segmentField),
  );
  if (at === undefined) return undefined;
  const everyone = filters.map((_, member) => member);
  const selecting = new Map<string, number[]>();
  filters.forEach((filter, member) => {
    for (const segment of new Set(filter.segments)) {
      const members = selecting.get(segment);
      if (members === undefined) selecting.set(segment, [member]);
      else members.push(member);
    }
  });
  const bySegment = new Map<string, SegmentRoute>();
  for (const [segment, members] of selecting) bySegment.set(segment, { members, seen: false });
  // Once this many segments have come, every pass remembers as many unselected ones as it may (a
  // pass selects at most `maxSelectedSegments` of them): a new one changes nothing for any.
  const remembered = maxUnselectedSegments + maxSelectedSegments;
  let seen = 0;
  return splitBy(filters.length, (record) => {
    if (record.warning !== undefined) return everyone;
    const segment = record.values[at];
    if (segment === undefined) return record.issue === undefined ? noMembers : everyone;
    let route = bySegment.get(segment);
    if (record.issue !== undefined) return route?.members ?? noMembers;
    if (route === undefined) {
      if (seen >= remembered) return noMembers;
      route = { members: noMembers, seen: false };
      bySegment.set(segment, route);
    }
    if (route.seen || seen >= remembered) return route.members;
    route.seen = true;
    seen++;
    return everyone;
  });
}

function keyRoutes(fields: readonly string[], filters: readonly MembersFilter[]): RowRoutes | undefined {
  const at = fieldAt(
    fields,
    filters.map((filter) => filter.key),
  );
  const selections = filters.map((filter) => filter.selection);
  if (at === undefined || selections.some((selection) => selection === undefined)) return undefined;
  const union = new SelectionUnion(selections as NonNullable<(typeof selections)[number]>[]);
  const everyone = filters.map((_, member) => member);
  return splitBy(filters.length, (record) => {
    if (record.warning !== undefined) return everyone;
    const key = record.values[at];
    if (!key) return record.issue === undefined ? noMembers : everyone;
    return union.membersOf(key);
  });
}

/** Routes that hand each row to the members `membersFor` names (each once, ascending or not). */
function splitBy(count: number, membersFor: (record: SourceRecord) => readonly number[]): RowRoutes {
  return {
    split(batch) {
      const routed: SourceRecord[][] = [];
      for (let member = 0; member < count; member++) routed.push([]);
      for (const record of batch) for (const member of membersFor(record)) routed[member]?.push(record);
      const rows = batchRows(batch);
      return routed.map((share) => Object.assign(share, { routedAway: rows - share.length }));
    },
  };
}
