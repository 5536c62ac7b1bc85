import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StateError } from '../state-errors';
import type { SqliteDatabase } from './sqlite-migrations';

/** How long a statement waits for another process's write transaction before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the SQLite database at `path` or `:memory:`. A new file's missing
 * folders are created 0700 and the file 0600 (SQLite gives its -wal and -shm files the same mode),
 * because the state holds ciphertext, fingerprints and run records nobody else needs to read.
 * Pragmas: WAL (readers never block the writer), busy_timeout, synchronous=FULL (a committed
 * token survives power loss, not only a crash), foreign keys on. Throws `state-open-failed`.
 */
export function openSqliteDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      closeSync(openSync(path, 'a', 0o600));
    } catch (cause) {
      throw openFailed(path, cause);
    }
  }
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path);
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (cause) {
    db?.close();
    throw openFailed(path, cause);
  }
}

function openFailed(path: string, cause: unknown): StateError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown }).code;
  return new StateError('state-open-failed', `the state ${path} cannot be opened: ${reason}`, {
    cause,
    context: { location: path, ...(typeof code === 'string' ? { reason: code } : {}) },
    hint:
      code === 'SQLITE_NOTADB'
        ? 'the file is not a SQLite database: point --state / EXPORTCTL_STATE at the state file'
        : 'check that the folder exists and is writable by this user',
  });
}
