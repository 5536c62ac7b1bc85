import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
