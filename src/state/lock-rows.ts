import type { LockHolderRecord, LockName } from './lock-store';

/**
 * A `locks` row as every backend's table holds it (the same columns in SQLite and PostgreSQL);
 * times come as numbers (SQLite) or as the strings pg gives for BIGINT.
 */
export interface LockRow {
  name: string;
  token: string;
  identity: string;
  command: string;
  pid: number;
  hostname: string;
  since: number | string;
  heartbeat_at: number | string;
}

/** The holder a row names. */
export function toRecord(row: LockRow): LockHolderRecord {
  return {
    lock: row.name as LockName,
    identity: row.identity,
    command: row.command,
    pid: row.pid,
    hostname: row.hostname,
    since: Number(row.since),
    heartbeatAt: Number(row.heartbeat_at),
  };
}
