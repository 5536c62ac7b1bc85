#!/usr/bin/env node
// Loads profile CSVs (by default the quickstart's sample, ../quickstart/data) into PostgreSQL, as
// the tables this example's ProfileSource reads: "profiles" and "segment_membership", their
// columns named exactly as the CSV headers (quoted, mixed case). Replaces both tables.
//
//   PROFILES_DATABASE_URL=postgres://user:password@127.0.0.1:5432/crm node config-examples/postgres/load-profiles.mjs
//   ... load-profiles.mjs --data some/folder   (profiles.csv and segment-membership.csv)
//
// Streams each file through COPY ... FROM STDIN, so any size loads in constant memory. Every
// column is text: exportctl reads values as text whatever their type.
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--data');
const data = at === -1 ? join(here, '..', 'quickstart', 'data') : args[at + 1];
const url = process.env.PROFILES_DATABASE_URL;
if (!url) {
  console.error('set PROFILES_DATABASE_URL=postgres://user:password@host:port/database first');
  process.exit(2);
}

/** The header line of a CSV file: its column names (the sample's headers hold no quotes). */
function header(file) {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(64 * 1024);
  const read = readSync(fd, buffer, 0, buffer.length, 0);
  closeSync(fd);
  const line = buffer
    .subarray(0, read)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)[0];
  return line.split(',').map((name) => name.trim());
}

const quote = (name) => `"${name.replaceAll('"', '""')}"`;

const client = new pg.Client({ connectionString: url, application_name: 'exportctl-example-loader' });
await client.connect();
try {
  for (const [table, file] of [
    ['profiles', 'profiles.csv'],
    ['segment_membership', 'segment-membership.csv'],
  ]) {
    const path = join(data, file);
    const columns = header(path);
    await client.query('BEGIN');
    await client.query(`DROP TABLE IF EXISTS ${quote(table)}`);
    await client.query(`CREATE TABLE ${quote(table)} (${columns.map((c) => `${quote(c)} text`).join(', ')})`);
    await pipeline(
      createReadStream(path),
      client.query(copyFrom(`COPY ${quote(table)} FROM STDIN WITH (FORMAT csv, HEADER true)`)),
    );
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${quote(table)}`);
    await client.query('COMMIT');
    console.log(`${table}: ${rows[0].n} rows from ${path}`);
  }
} finally {
  await client.end();
}
