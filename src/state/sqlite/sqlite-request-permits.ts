import type { PermitRule } from '../../constant-contact/permit-window';
import { nextPermitTime, permitExpired } from '../../constant-contact/permit-window';
import type { PermitReservation, RequestPermitStore } from '../../constant-contact/request-limiter';
import { StateError } from '../state-errors';
import { openSqliteDatabase } from './open-sqlite-database';
import type { SqliteDatabase } from './sqlite-migrations';

/** The side file of a SQLite state at `statePath`, where its request permits are reserved. */
export function requestPermitsPath(statePath: string): string {
  return `${statePath}-rate-limits`;
}

interface PermitRow {
  permit: number;
  granted_at: number;
  ended_at: number | null;
}

/**
 * {@link RequestPermitStore} for every process on one machine that uses a SQLite state: a small
 * SQLite database of its own next to the state (`<state>-rate-limits`), so that reserving a permit
 * (several times a second) never waits on a run's long write transactions in the state, nor they
 * on it. WAL; each reservation is one BEGIN IMMEDIATE transaction, so processes take turns on it
 * (the busy timeout waits for the other's few statements). Opened on first use: a command that
 * sends no request never creates it. Its rows are times and an opaque key; losing the file only
 * forgets the last second's permits, so it is written with synchronous=NORMAL.
 */
export class SqliteRequestPermits implements RequestPermitStore {
  private db: SqliteDatabase | undefined;
  private closed = false;

  constructor(
    /** The side file's path (`requestPermitsPath`). */
    readonly path: string,
    private readonly now: () => number = Date.now,
  ) {}

  async reserve(key: string, rule: PermitRule): Promise<PermitReservation> {
    try {
      return this.reserveNow(key, rule);
    } catch (error) {
      if (error instanceof StateError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new StateError(
        'state-open-failed',
        `the request permits at ${this.path} cannot be used: ${reason}`,
        {
          cause: error,
          context: { location: this.path },
          hint: "make the state's folder writable; the file holds only the last seconds' permits, so it may be deleted while no exportctl runs",
        },
      );
    }
  }

  private reserveNow(key: string, rule: PermitRule): PermitReservation {
    const db = this.database();
    const reserve = db.transaction((): PermitReservation => {
      const now = this.now();
      const rows = db
        .prepare<[string], PermitRow>(
          'SELECT permit, granted_at, ended_at FROM request_permit_windows WHERE key = ? ORDER BY granted_at, permit',
        )
        .all(key);
      const permits = rows.map((row) => ({
        row,
        grantedAt: row.granted_at,
        endedAt: row.ended_at ?? undefined,
      }));
      const forget = db.prepare('DELETE FROM request_permit_windows WHERE permit = ?');
      for (const permit of permits) if (permitExpired(permit, now, rule)) forget.run(permit.row.permit);
      const next = nextPermitTime(permits, now, rule);
      if (next.at > now) return { granted: false, retryInMs: next.at - now };
      const inserted = db
        .prepare('INSERT INTO request_permit_windows (key, granted_at) VALUES (?, ?)')
        .run(key, now);
      return { granted: true, permit: String(inserted.lastInsertRowid) };
    });
    return reserve.immediate();
  }

  async release(key: string, permit: string): Promise<void> {
    if (this.closed) return;
    this.database()
      .prepare(
        'UPDATE request_permit_windows SET ended_at = ? WHERE permit = ? AND key = ? AND ended_at IS NULL',
      )
      .run(this.now(), Number(permit), key);
  }

  /** Closes the side file (the state's `close` does); later releases are dropped. */
  close(): void {
    this.closed = true;
    this.db?.close();
    this.db = undefined;
  }

  private database(): SqliteDatabase {
    if (this.db) return this.db;
    if (this.closed) {
      throw new StateError(
        'state-closed',
        `the request permits at ${this.path} were used after the state closed`,
        {
          context: { location: this.path },
          hint: 'this is a bug in exportctl: open the state again, or close it later',
        },
      );
    }
    const db = openSqliteDatabase(this.path);
    try {
      db.pragma('synchronous = NORMAL');
      db.transaction(() => {
        db.exec(`
          CREATE TABLE IF NOT EXISTS request_permit_windows (
            permit INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL,
            granted_at INTEGER NOT NULL,
            ended_at INTEGER
          );
          CREATE INDEX IF NOT EXISTS request_permit_windows_by_key ON request_permit_windows (key, granted_at);
        `);
      }).immediate();
    } catch (error) {
      db.close();
      throw error;
    }
    this.db = db;
    return db;
  }
}
