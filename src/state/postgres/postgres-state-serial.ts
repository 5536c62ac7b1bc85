import type pg from 'pg';
import type { StateSerial } from '../state-serial';

/**
 * Adds 1 to the state serial. Call it inside the serialized write transaction of every change that
 * {@link StateSerial.serial} counts, and only when something was really written.
 */
export async function bumpStateSerial(client: pg.ClientBase): Promise<void> {
  await client.query(`UPDATE state_meta SET value = (value::bigint + 1)::text WHERE key = 'serial'`);
}

/** The lineage and serial, read in one statement (so both are of the same commit). */
export async function readStateSerial(client: pg.Pool | pg.ClientBase): Promise<StateSerial> {
  const { rows } = await client.query<{ key: string; value: string }>(
    `SELECT key, value FROM state_meta WHERE key IN ('lineage', 'serial')`,
  );
  const value = (key: string) => rows.find((row) => row.key === key)?.value;
  return { lineage: value('lineage') ?? '', serial: Number(value('serial') ?? 0) };
}
