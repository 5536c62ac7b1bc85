import type { Clock } from '../clock';
import { StateError } from '../state-errors';
import type { SqliteDatabase } from './sqlite-migrations';

/** What every part of one SQLite state shares: the database while open, the clock, the location. */
export class SqliteStateContext {
  private db: SqliteDatabase | undefined;

  constructor(
    db: SqliteDatabase,
    readonly clock: Clock,
    readonly location: string,
  ) {
    this.db = db;
  }

  /** The open database; throws `state-closed` after {@link close}. */
  database(): SqliteDatabase {
    if (this.db === undefined) {
      throw new StateError('state-closed', `the state ${this.location} was used after it was closed`, {
        context: { location: this.location },
        hint: 'this is a bug in exportctl: open the state again, or close it later',
      });
    }
    return this.db;
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
