import type { SeededRandom } from './seeded-random';

/**
 * A scenario's profile source as the campaign generates and edits it: rows of profiles with traps
 * (invalid, missing, over-long and duplicated emails, case and white-space variants, names with
 * quotes, line breaks, decomposed accents, over 50 characters, duplicate and missing keys), segment
 * memberships with near misses and members without a profile. The oracle never reads this model: it
 * reads the files written from it (source-files.ts), with a reader of its own.
 *
 * One rule keeps the oracle's names exact when several destinations share contacts: all profiles with
 * one email (compared trimmed and lowercased) are in the same segments, so every destination that
 * selects the email picks the same winner (the smallest key) and sends the same names.
 */

export const segmentNames = ['VIP', 'Newsletter', 'Lapsed', 'NewSignups'] as const;

export const profileColumns = [
  'CustomerId',
  'EmailAddress',
  'FirstName',
  'LastName',
  'Country',
  'LifetimeValue',
] as const;
export type ProfileColumn = (typeof profileColumns)[number];

export interface ProfileRow {
  readonly key: string;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly country: string;
  readonly value: string;
}

export interface MembershipRow {
  readonly key: string;
  readonly segment: string;
}

export interface ProfileSource {
  /** The column order of profiles.csv. */
  readonly columns: readonly ProfileColumn[];
  /** CRLF line ends instead of LF. */
  readonly crlf: boolean;
  /** A UTF-8 byte order mark before the header. */
  readonly bom: boolean;
  /** In file order. A key may appear twice (the second row is a `duplicate-key` trap). */
  readonly rows: ProfileRow[];
  /** The segments of each key (the same for every key of one email). */
  readonly segments: Map<string, readonly string[]>;
  /** Membership rows besides the segments: near misses (`vip`, `Newsletter `), keys without a profile. */
  readonly strayMemberships: MembershipRow[];
  /** The number of the next key to create. */
  nextKey: number;
  /** Edits so far (0: as generated). */
  version: number;
}

const firstNames = ['Ada', 'Ben', 'Chloé', 'Dmitri', 'Eva', 'Farah', 'Gustav', 'Hana', 'Ivan', 'Jürgen'];
const moreFirstNames = ['Kofi', 'Léa', 'Mateo', 'Nora', 'Søren', 'Tomás', 'Zoë', '美咲', 'Олег', 'Priya'];
const lastNames = ['Andersen', "O'Brien", 'Dubois', 'García', 'Müller', 'Nakamura', 'Smith, Jr.', '山田'];
const domains = ['example.com', 'example.org', 'mail.example.net'];
const countries = ['US', 'GB', 'FR', 'DE', 'JP', 'BR'];
const segmentOdds = [0.15, 0.4, 0.15, 0.1];

/** The trimmed, lowercased email: the campaign's own notion of "the same email" for its groups. */
export function emailGroup(email: string): string {
  return email.trim().toLowerCase();
}

function asciiWord(name: string): string {
  return (
    name
      .normalize('NFD')
      .replace(/[^A-Za-z0-9]/g, '')
      .toLowerCase() || 'user'
  );
}

const keyOf = (number: number) => `C${String(number).padStart(7, '0')}`;

function drawSegments(random: SeededRandom): string[] {
  return segmentNames.filter((_, index) => random.chance(segmentOdds[index] ?? 0));
}

/** One new profile row numbered `number`, traps included; `earlier` rows may be duplicated. */
function newRow(
  random: SeededRandom,
  number: number,
  earlier: readonly ProfileRow[],
): { row: ProfileRow; duplicateOf?: ProfileRow } {
  let first = random.pick(random.chance(0.5) ? firstNames : moreFirstNames);
  let last = random.pick(lastNames);
  let email = `${asciiWord(first)}.${asciiWord(last)}.${number}@${random.pick(domains)}`;
  let key = keyOf(number);
  let duplicateOf: ProfileRow | undefined;
  const trap = random.next();
  if (trap < 0.015) {
    email = random.pick([
      `not-an-email-${number}`,
      `user.${number}@@example.com`,
      `user ${number}@example.com`,
      `.user.${number}@example.com`,
      `user.${number}@localhost`,
      `user..${number}@example.com`,
    ]);
  } else if (trap < 0.025) email = '';
  else if (trap < 0.03) email = `${'long'.repeat(11)}.${number}@example.com`;
  else if (trap < 0.04) email = `  ${email.toUpperCase()} `;
  else if (trap < 0.06 && earlier.length > 0) {
    duplicateOf = random.pick(earlier);
    const other = duplicateOf.email;
    email = random.chance(0.5) ? other.toUpperCase() : ` ${other}`;
    if (emailGroup(email) === '') duplicateOf = undefined;
  } else if (trap < 0.065) email = `${asciiWord(first)}.${number}+news@${random.pick(domains)}`;
  else if (trap < 0.068 && earlier.length > 0) {
    // A second row with an earlier key: `duplicate-key`, the first row is exported.
    key = random.pick(earlier).key;
    email = `shadow.${number}@example.com`;
  } else if (trap < 0.071) key = '';
  const nameTrap = random.next();
  if (nameTrap < 0.01) first = `Maximiliana-Theodora-Wilhelmina-Bernadette-${number}-Konstanze`;
  else if (nameTrap < 0.02) last = `${last}\nsecond line`;
  else if (nameTrap < 0.03) first = `${first} "the great", Jr`;
  else if (nameTrap < 0.035) first = '   ';
  else if (nameTrap < 0.04) first = 'Chloe\u0301';
  else if (nameTrap < 0.045) last = `  ${last}  `;
  const row: ProfileRow = {
    key,
    email,
    firstName: first,
    lastName: last,
    country: random.pick(countries),
    value: (random.next() * 5000).toFixed(2),
  };
  return duplicateOf ? { row, duplicateOf } : { row };
}

/** Adds `count` generated rows (keys numbered from `source.nextKey`), memberships included. */
function addRows(source: ProfileSource, random: SeededRandom, count: number): void {
  const firstOfGroup = new Map<string, ProfileRow>();
  for (const row of source.rows) {
    const group = emailGroup(row.email);
    if (group !== '' && row.key !== '' && !firstOfGroup.has(group)) firstOfGroup.set(group, row);
  }
  for (let index = 0; index < count; index++) {
    const number = source.nextKey++;
    const { row, duplicateOf } = newRow(random, number, source.rows);
    const isDuplicateKey = row.key !== '' && source.segments.has(row.key);
    source.rows.push(row);
    if (row.key === '' || isDuplicateKey) continue;
    const group = emailGroup(row.email);
    // A row joining an email group takes the group's segments (see the file comment).
    const sibling = duplicateOf ?? (group === '' ? undefined : firstOfGroup.get(group));
    const segments = sibling ? (source.segments.get(sibling.key) ?? []) : drawSegments(random);
    source.segments.set(row.key, segments);
    if (group !== '' && !firstOfGroup.has(group)) firstOfGroup.set(group, row);
    if (random.chance(0.005))
      source.strayMemberships.push({ key: row.key, segment: random.pick(['vip', 'Newsletter ']) });
  }
  if (random.chance(0.5)) source.strayMemberships.push({ key: `X${source.nextKey}`, segment: 'VIP' });
}

/** A source of `count` profiles drawn from `random`. */
export function generateProfileSource(random: SeededRandom, count: number): ProfileSource {
  const keyFirst = random.chance(0.7);
  const rest = random.sample(
    profileColumns.filter((column) => column !== 'CustomerId'),
    profileColumns.length - 1,
  );
  const columns: ProfileColumn[] = keyFirst
    ? ['CustomerId', ...rest]
    : [...rest.slice(0, 2), 'CustomerId', ...rest.slice(2)];
  const source: ProfileSource = {
    columns,
    crlf: random.chance(0.2),
    bom: random.chance(0.2),
    rows: [],
    segments: new Map(),
    strayMemberships: [],
    nextKey: 1,
    version: 0,
  };
  addRows(source, random, count);
  return source;
}

/** How much one source edit changes. */
export interface SourceEdit {
  readonly adds: number;
  readonly removals: number;
  readonly renames: number;
  readonly moves: number;
}

/** The keys that have a profile row, in file order, each once. */
export function profileKeys(source: ProfileSource): string[] {
  return [...new Set(source.rows.map((row) => row.key).filter((key) => key !== ''))];
}

/**
 * Applies an edit: removes `removals` keys (all their rows and memberships), renames `renames` keys
 * (fresh names, never seen before, so a name never comes back), moves `moves` email groups to other
 * segments, and adds `adds` new rows.
 */
export function editProfileSource(source: ProfileSource, random: SeededRandom, edit: SourceEdit): void {
  source.version += 1;
  const removed = new Set(random.sample(profileKeys(source), edit.removals));
  for (let index = source.rows.length - 1; index >= 0; index--) {
    if (removed.has((source.rows[index] as ProfileRow).key)) source.rows.splice(index, 1);
  }
  for (const key of removed) source.segments.delete(key);
  const tag = `R${source.version}`;
  for (const key of random.sample(profileKeys(source), edit.renames)) {
    const index = source.rows.findIndex((row) => row.key === key);
    const row = source.rows[index] as ProfileRow;
    const both = random.chance(0.5);
    source.rows[index] = {
      ...row,
      firstName: `${tag} ${row.firstName.trim() || 'Anon'}`,
      lastName: both ? `${tag}-${row.lastName}` : row.lastName,
    };
  }
  for (const key of random.sample([...source.segments.keys()], edit.moves)) {
    const current = source.segments.get(key) ?? [];
    let next = drawSegments(random);
    if (next.join() === current.join()) next = current.length === 0 ? [random.pick(segmentNames)] : [];
    const group = emailGroup(source.rows.find((row) => row.key === key)?.email ?? '');
    const members =
      group === ''
        ? [key]
        : source.rows.filter((row) => emailGroup(row.email) === group).map((row) => row.key);
    for (const member of members) if (source.segments.has(member)) source.segments.set(member, next);
  }
  addRows(source, random, edit.adds);
}
