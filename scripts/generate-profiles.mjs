#!/usr/bin/env node
// Deterministic unified-profile data: the quickstart's sample (about 1,000 profiles) and the
// benchmark's 1,000,000. The same seed gives the same bytes on every machine. The data carries the
// cases an exporter must handle: invalid emails, emails differing only in case or whitespace, two
// profiles sharing one email, RFC 4180 quoting (commas, quotes, embedded newlines), unicode and
// over-long names.
//
//   node scripts/generate-profiles.mjs --count 1000 --out config-examples/quickstart/data
import { createWriteStream, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The sandbox's PRNG (mulberry32), from the build (`npm ci` builds dist/): one implementation, so the
// same seed gives the same data everywhere.
const load = createRequire(import.meta.url);
const { seededRandom } = load('../dist/src/sandbox/seeded-random.js');
const { csvField: quoteCsv } = load('../dist/src/profiles/csv-field.js');

const FIRST = [
  'Ada',
  'Ben',
  'Chloé',
  'Dmitri',
  'Eva',
  'Farah',
  'Gustav',
  'Hana',
  'Ivan',
  'Jürgen',
  'Kofi',
  'Léa',
  'Mateo',
  'Nora',
  'Oskar',
  'Priya',
  'Quentin',
  'Rosa',
  'Søren',
  'Tomás',
  'Uma',
  'Vera',
  'Wei',
  'Xavier',
  'Yara',
  'Zoë',
  '美咲',
  'Олег',
];
const LAST = [
  'Andersen',
  'Brown',
  "O'Brien",
  'Dubois',
  'Eriksson',
  'Fischer',
  'García',
  'Hughes',
  'Ito',
  'Jensen',
  'Kowalski',
  'López',
  'Müller',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Quinn',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Umarov',
  'Van der Berg',
  'Wójcik',
  'Xu',
  'Yilmaz',
  'Zhang',
  '山田',
  'Smith, Jr.',
];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com'];
const COUNTRIES = ['US', 'GB', 'FR', 'DE', 'JP', 'BR', 'IN', 'NG'];
export const SEGMENTS = ['VIP', 'Newsletter', 'LapsedCustomers', 'NewSignups'];

/** One csv field (the engine's own quoting), for a value of any type. */
export function csvField(value) {
  return quoteCsv(String(value));
}

/**
 * Yields `{profile, segments}` for `count` profiles. About 1 in 100 rows is a deliberate edge case.
 * @param {{count: number, seed?: number}} options
 */
export function* generateProfiles({ count, seed = 20261122 }) {
  const next = seededRandom(seed);
  const pick = (items) => items[Math.floor(next() * items.length)];
  for (let i = 1; i <= count; i++) {
    const id = `C${String(i).padStart(7, '0')}`;
    let first = pick(FIRST);
    let last = pick(LAST);
    // ASCII local part; names in other scripts fall back to "user" rather than leave an empty atom.
    const ascii = (name) =>
      name
        .normalize('NFD')
        .replace(/[^A-Za-z0-9]/g, '')
        .toLowerCase() || 'user';
    let email = `${ascii(first)}.${ascii(last)}.${i}@${pick(DOMAINS)}`;
    const edge = i % 100;
    if (edge === 7) email = `not-an-email-${i}`; // invalid syntax
    if (edge === 13) email = `  ${email.toUpperCase()}  `; // case and whitespace variant: still valid
    if (edge === 22) email = `household.${i}@shared.example.com`;
    if (edge === 23) email = `HOUSEHOLD.${i - 1}@Shared.Example.com`; // row i-1's mailbox, other case: a duplicate
    if (edge === 31) first = `${first} "the ${pick(['first', 'great', 'brave'])}"`; // quotes
    if (edge === 43) last = `${last}\nsecond line`; // embedded newline
    if (edge === 57) first = 'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstanze-Rosalind'; // > 50 chars
    if (edge === 71) email = ''; // no email at all
    const segments = SEGMENTS.filter((_, index) => next() < [0.1, 0.45, 0.15, 0.08][index]);
    yield {
      profile: {
        CustomerId: id,
        EmailAddress: email,
        FirstName: first,
        LastName: last,
        Country: pick(COUNTRIES),
        LifetimeValue: (next() * 5000).toFixed(2),
      },
      segments,
    };
  }
}

/** Writes profiles.csv and segment-membership.csv into `folder`; resolves when both are flushed. */
export async function writeProfileFiles({ count, seed, folder }) {
  mkdirSync(folder, { recursive: true });
  const profiles = createWriteStream(join(folder, 'profiles.csv'));
  const membership = createWriteStream(join(folder, 'segment-membership.csv'));
  const write = (stream, line) =>
    stream.write(line) ? undefined : new Promise((resolve) => stream.once('drain', resolve));
  await write(profiles, 'CustomerId,EmailAddress,FirstName,LastName,Country,LifetimeValue\n');
  await write(membership, 'CustomerId,Segment\n');
  for (const { profile, segments } of generateProfiles({ count, seed })) {
    await write(profiles, `${Object.values(profile).map(csvField).join(',')}\n`);
    for (const segment of segments) await write(membership, `${profile.CustomerId},${segment}\n`);
  }
  await Promise.all(
    [profiles, membership].map(
      (stream) =>
        new Promise((resolve, reject) => stream.end((error) => (error ? reject(error) : resolve()))),
    ),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const index = process.argv.indexOf(`--${name}`);
    return index > 0 ? process.argv[index + 1] : fallback;
  };
  const count = Number(arg('count', '1000'));
  const folder = arg('out', 'data');
  await writeProfileFiles({ count, seed: Number(arg('seed', '20261122')), folder });
  process.stdout.write(`wrote ${count} profiles to ${folder}\n`);
}
