import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProfileColumn, ProfileRow, ProfileSource } from './profile-source';

/** The two files of a source: where a version of them lives. */
export interface SourceFiles {
  readonly profiles: string;
  readonly membership: string;
}

const fieldOf: Record<ProfileColumn, (row: ProfileRow) => string> = {
  CustomerId: (row) => row.key,
  EmailAddress: (row) => row.email,
  FirstName: (row) => row.firstName,
  LastName: (row) => row.lastName,
  Country: (row) => row.country,
  LifetimeValue: (row) => row.value,
};

/** RFC 4180 quoting; also quotes surrounding white space, which an unquoted field may not keep. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One profile row's fields as written, quoted where needed, in the source's column order. */
export function profileFields(source: ProfileSource, row: ProfileRow): string[] {
  return source.columns.map((column) => csvField(fieldOf[column](row)));
}

/** The line end the source's files use. */
export function lineEnd(source: ProfileSource): string {
  return source.crlf ? '\r\n' : '\n';
}

/** profiles.csv of a source (or of other rows in its format), as bytes. */
export function profilesCsv(source: ProfileSource, rows: readonly ProfileRow[] = source.rows): Buffer {
  const end = lineEnd(source);
  const lines = [source.columns.join(',')];
  for (const row of rows) lines.push(profileFields(source, row).join(','));
  return Buffer.from(`${source.bom ? '\uFEFF' : ''}${lines.join(end)}${end}`, 'utf8');
}

/** segment-membership.csv of a source: a row per key and segment, then the stray rows. */
export function membershipCsv(source: ProfileSource): Buffer {
  const end = source.crlf ? '\r\n' : '\n';
  const lines = ['CustomerId,Segment'];
  for (const [key, segments] of source.segments)
    for (const segment of segments) lines.push(`${key},${segment}`);
  for (const stray of source.strayMemberships) lines.push(`${stray.key},${csvField(stray.segment)}`);
  return Buffer.from(`${lines.join(end)}${end}`, 'utf8');
}

/** Writes the source's files into `folder` (profiles.csv, segment-membership.csv). */
export function writeSourceFiles(source: ProfileSource, folder: string): SourceFiles {
  mkdirSync(folder, { recursive: true });
  const files = {
    profiles: join(folder, 'profiles.csv'),
    membership: join(folder, 'segment-membership.csv'),
  };
  writeFileSync(files.profiles, profilesCsv(source));
  writeFileSync(files.membership, membershipCsv(source));
  return files;
}

/** Copies a version's files into `folder`, for the oracle to read later. */
export function keepSourceVersion(files: SourceFiles, folder: string): SourceFiles {
  mkdirSync(folder, { recursive: true });
  const kept = { profiles: join(folder, 'profiles.csv'), membership: join(folder, 'segment-membership.csv') };
  copyFileSync(files.profiles, kept.profiles);
  copyFileSync(files.membership, kept.membership);
  return kept;
}
