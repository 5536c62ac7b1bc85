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
 * Pragmas: busy_timeout first, then WAL (readers never block the writer; the switch waits for
 * another process opening the same new file, up to the busy timeout), synchronous=FULL (a committed
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
    if (path !== ':memory:') switchToWal(db, SQLITE_BUSY_TIMEOUT_MS);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (cause) {
    db?.close();
    throw openFailed(path, cause);
  }
}

/**
 * `PRAGMA journal_mode = WAL`, waiting for other processes up to `timeoutMs` as busy_timeout would.
 * busy_timeout does not cover this statement: it asks for the exclusive lock while already holding a
 * read lock, and SQLite answers that with SQLITE_BUSY at once instead of calling the busy handler
 * (it could deadlock otherwise). So when two processes open a new database together, the one that
 * does not convert it failed with "database is locked" (issue #13). WAL is a property of the file:
 * once the other process has converted it, the retry finds it in WAL and takes no exclusive lock.
 */
function switchToWal(db: SqliteDatabase, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const remaining = deadline - Date.now();
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || remaining <= 0) throw error;
      // Jittered, so two processes that both failed do not retry in step; 2, 4, 8 ... 50 ms.
      const pause = Math.min(2 ** (attempt + 1), 50) * (0.5 + Math.random() / 2);
      sleepSync(Math.min(pause, remaining));
    }
  }
}

/** Blocks the thread, as SQLite's own busy handler does while it waits for a lock. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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
