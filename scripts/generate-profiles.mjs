#!/usr/bin/env node
// Deterministic unified-profile data: the quickstart's sample (about 1,000 profiles) and the
// benchmark's 1,000,000. The same seed gives the same bytes on every machine. The data carries the
// cases an exporter must handle: invalid emails, emails differing only in case or whitespace, two
// profiles sharing one email, RFC 4180 quoting (commas, quotes, embedded newlines), unicode and
// over-long names.
//
//   node scripts/generate-profiles.mjs --count 1000 --out config-examples/quickstart/data
//   node scripts/generate-profiles.mjs --help
import { createWriteStream, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

const usage = `usage: node scripts/generate-profiles.mjs [--count N] [--out FOLDER] [--seed N]

Writes FOLDER/profiles.csv and FOLDER/segment-membership.csv: N deterministic unified profiles (the
same seed gives the same bytes on every machine), with the edge cases an exporter must handle.

  --count N      profiles to write, 1 or more (default 1000)
  --out FOLDER   where to write them, created if missing (default data)
  --seed N       the PRNG seed, a whole number (default 20261122)
  -h, --help     print this and write nothing
`;

/**
 * The command line as options, or a reason it cannot be used (an unknown flag, a missing value,
 * a count that is not a whole number...). Nothing is written before it is accepted.
 */
export function parseCommandLine(args) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        count: { type: 'string', default: '1000' },
        out: { type: 'string', default: 'data' },
        seed: { type: 'string', default: '20261122' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
    const reason = {
      ERR_PARSE_ARGS_UNKNOWN_OPTION: `unknown option '${quoted}'`,
      ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: `unexpected argument '${quoted}'`,
      ERR_PARSE_ARGS_INVALID_OPTION_VALUE: `${quoted.split(' ')[0]} needs a value`,
    }[error.code];
    if (reason === undefined) throw error;
    return { error: reason };
  }
  const { values } = parsed;
  if (values.help) return { help: true };
  const whole = (name, minimum) => {
    const text = values[name];
    return /^\d+$/.test(text) && Number(text) >= minimum && Number.isSafeInteger(Number(text))
      ? Number(text)
      : undefined;
  };
  const count = whole('count', 1);
  if (count === undefined) return { error: `--count "${values.count}" is not a whole number of 1 or more` };
  const seed = whole('seed', 0);
  if (seed === undefined) return { error: `--seed "${values.seed}" is not a whole number` };
  return { count, seed, folder: values.out };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = parseCommandLine(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(usage);
  } else if (options.error) {
    process.stderr.write(
      `error: ${options.error}\n  hint: node scripts/generate-profiles.mjs --help lists the options\n`,
    );
    process.exitCode = 2;
  } else {
    await writeProfileFiles(options);
    process.stdout.write(`wrote ${options.count} profiles to ${options.folder}\n`);
  }
}
