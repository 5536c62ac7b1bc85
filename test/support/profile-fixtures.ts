import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DataMatching, ProfileSourceSpec } from '../../src/config';
import { type RowIssue, readContacts, type SourceRowProvider } from '../../src/profiles';
import { repoRoot } from './exportctl-cli';
import { tempFolder } from './temp-folder';

/** The folder of one profile-source fixture case: test/fixtures/profiles/<name>. */
export function profileFixture(name: string): string {
  return join(repoRoot, 'test', 'fixtures', 'profiles', name);
}

/** Builds a sqlite database in a fresh temp folder from a fixture's `source.sql`; returns its path. */
export function sqliteFixture(name: string, file = 'source.db'): string {
  const path = join(tempFolder(), file);
  const db = new Database(path);
  db.exec(readFileSync(join(profileFixture(name), 'source.sql'), 'utf8'));
  db.close();
  return path;
}

/** Everything an async iterable yields, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** A destination as a profile read sees it: the segments it selects, how it maps the profiles. */
export interface ReadingMember {
  readonly name: string;
  readonly segments: readonly string[];
  readonly dataMatching: DataMatching;
}

/**
 * What `readContacts` gives `member` reading `source` (in `baseDir`) through `rows`: its contacts,
 * issues and summary, or the code of the error it failed with and the issues before it.
 */
export async function readAsMember(
  member: ReadingMember,
  source: ProfileSourceSpec,
  baseDir: string,
  rows: SourceRowProvider | undefined,
) {
  const issues: RowIssue[] = [];
  const read = readContacts({
    source,
    baseDir,
    segments: member.segments,
    dataMatching: member.dataMatching,
    onIssue: (issue) => issues.push(issue),
    rows,
  });
  try {
    const contacts = await collect(read);
    return { contacts, issues, summary: read.summary };
  } catch (error) {
    return { error: (error as { code?: string }).code, issues };
  }
}
