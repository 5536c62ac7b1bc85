import { randomUUID } from 'node:crypto';
import type { StateSerial } from '../state-serial';
import type { SqliteDatabase } from './sqlite-migrations';

const SERIAL = 'serial';
const LINEAGE = 'lineage';

/** Records a new lineage and serial 0 (the migration `control-plane-2-state-serial`). */
export function initStateSerial(db: SqliteDatabase): void {
  db.prepare('INSERT INTO state_meta (key, value) VALUES (?, ?), (?, ?)').run(
    LINEAGE,
    randomUUID(),
    SERIAL,
    '0',
  );
}

/**
 * Adds 1 to the state serial. Call it inside the write transaction of every change that
 * {@link StateSerial.serial} counts, and only when something was really written.
 */
export function bumpStateSerial(db: SqliteDatabase): void {
  db.prepare('UPDATE state_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = ?').run(
    SERIAL,
  );
}

/** The lineage and serial, read in one statement (so both are of the same commit). */
export function readStateSerial(db: SqliteDatabase): StateSerial {
  const rows = db.prepare('SELECT key, value FROM state_meta WHERE key IN (?, ?)').all(LINEAGE, SERIAL) as {
    key: string;
    value: string;
  }[];
  const value = (key: string) => rows.find((row) => row.key === key)?.value;
  return { lineage: value(LINEAGE) ?? '', serial: Number(value(SERIAL) ?? 0) };
}
