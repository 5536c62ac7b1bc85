import type { PermitRule } from '../../constant-contact/permit-window';
import { nextPermitTime, permitExpired } from '../../constant-contact/permit-window';
import type { PermitReservation, RequestPermitStore } from '../../constant-contact/request-limiter';
import type { PostgresMigration } from './postgres-migrations';
import { advisoryKey } from './postgres-migrations';
import type { PostgresStateContext } from './postgres-state-context';

/**
 * The table of request permits (migration `control-plane-2-request-permit-windows`): one row per
 * permit of an API key granted in the last seconds, forgotten once it can hold no one back. `key`
 * is a hash (`permitKeyOf`), never a credential; times are the server's epoch ms.
 */
export const requestPermitWindowsMigration: PostgresMigration = {
  id: 'control-plane-2-request-permit-windows',
  async up(client) {
    await client.query(`
      CREATE TABLE request_permit_windows (
        permit BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key TEXT NOT NULL,
        granted_at BIGINT NOT NULL,
        ended_at BIGINT
      );
      CREATE INDEX request_permit_windows_by_key ON request_permit_windows (key, granted_at);
    `);
  },
};

/** The server's clock in epoch ms: every process on every machine reads the same one. */
const serverNow = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

/**
 * {@link RequestPermitStore} on the `request_permit_windows` table of a PostgreSQL state, for every
 * process on every machine that uses it. A reservation is one short transaction holding a
 * transaction-scoped advisory lock on (schema, key): the reservations of one key take turns, those
 * of other keys (and of other states in the database) never wait on them. Times are the server's,
 * so machines' clocks need not agree.
 */
export class PostgresRequestPermits implements RequestPermitStore {
  constructor(private readonly context: PostgresStateContext) {}

  async reserve(key: string, rule: PermitRule): Promise<PermitReservation> {
    const lock = advisoryKey('request-permits', this.context.settings.schema, key);
    return this.context.transaction(async (client) => {
      // A permit is worth a second: the commit need not wait for the disk (losing the last ones
      // in a crash of the server only lets a few requests more through, once).
      await client.query(
        `SELECT set_config('synchronous_commit', 'off', true), pg_advisory_xact_lock($1::bigint)`,
        [lock],
      );
      // The time is read after the lock, so it is never older than what the last holder wrote.
      const read = await client.query<{ now: string; permits: Array<[number, number, number | null]> }>(
        `SELECT ${serverNow} AS now,
                COALESCE(json_agg(json_build_array(permit, granted_at, ended_at) ORDER BY granted_at, permit), '[]')
                  AS permits
         FROM request_permit_windows WHERE key = $1`,
        [key],
      );
      const row = read.rows[0] as { now: string; permits: Array<[number, number, number | null]> };
      const now = Number(row.now);
      const permits = row.permits.map(([permit, grantedAt, endedAt]) => ({
        permit,
        grantedAt,
        endedAt: endedAt ?? undefined,
      }));
      const expired = permits
        .filter((permit) => permitExpired(permit, now, rule))
        .map((permit) => permit.permit);
      if (expired.length > 0)
        await client.query('DELETE FROM request_permit_windows WHERE permit = ANY($1::bigint[])', [expired]);
      const next = nextPermitTime(permits, now, rule);
      if (next.at > now) return { granted: false, retryInMs: next.at - now };
      const inserted = await client.query<{ permit: string }>(
        'INSERT INTO request_permit_windows (key, granted_at) VALUES ($1, $2) RETURNING permit',
        [key, now],
      );
      return { granted: true, permit: String(inserted.rows[0]?.permit) };
    }, false);
  }

  async release(key: string, permit: string): Promise<void> {
    if (!this.context.isOpen) return;
    await this.context.transaction(async (client) => {
      await client.query(`SELECT set_config('synchronous_commit', 'off', true)`);
      await client.query(
        `UPDATE request_permit_windows SET ended_at = ${serverNow}
         WHERE permit = $1 AND key = $2 AND ended_at IS NULL`,
        [permit, key],
      );
    }, false);
  }
}
