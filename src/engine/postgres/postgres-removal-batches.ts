import type {
  RemovalBatchCheckpoint,
  RemovalBatchState,
  RemovalBatchStore,
  RemovalTotals,
} from '../run-store';
import { SnapshotBucketChanges } from '../snapshot-buckets';
import type { PostgresRunContext } from './postgres-run-context';
import { applySnapshotChanges } from './postgres-snapshot-buckets';

/** A run's removals in `export_removals`, cut into the calls of `export_removal_batches`. */
export class PostgresRemovalBatches implements RemovalBatchStore {
  constructor(private readonly context: PostgresRunContext) {}

  async plan(runId: number, emails: Iterable<string>): Promise<number> {
    const keys = [...emails];
    return this.context.write(runId, async (client) => {
      if (keys.length === 0) return 0;
      const inserted = await client.query(
        'INSERT INTO export_removals (run_id, email_key) SELECT $1, unnest($2::text[])',
        [runId, keys],
      );
      return inserted.rowCount ?? 0;
    });
  }

  async emails(runId: number): Promise<string[]> {
    const { rows } = await this.context.query<{ email_key: string }>(
      'SELECT email_key FROM export_removals WHERE run_id = $1 ORDER BY email_key',
      [runId],
    );
    return rows.map((row) => row.email_key);
  }

  async planBatches(
    runId: number,
    destination: string,
    contactIds: ReadonlyMap<string, string>,
    perCall: number,
  ): Promise<void> {
    await this.context.write(runId, async (client) => {
      // Under the checkpoint's lock: the run's removals cannot change meanwhile.
      const { rows } = await client.query<{ email_key: string }>(
        'SELECT email_key FROM export_removals WHERE run_id = $1 ORDER BY email_key',
        [runId],
      );
      const assigned: { emails: string[]; ids: string[]; batches: number[] } = {
        emails: [],
        ids: [],
        batches: [],
      };
      const notOnList: string[] = [];
      const batchSizes: number[] = [];
      for (const { email_key: email } of rows) {
        const contactId = contactIds.get(email);
        if (contactId === undefined) {
          notOnList.push(email);
          continue;
        }
        if (batchSizes.length === 0 || (batchSizes.at(-1) ?? 0) === perCall) batchSizes.push(0);
        batchSizes[batchSizes.length - 1] = (batchSizes.at(-1) ?? 0) + 1;
        assigned.emails.push(email);
        assigned.ids.push(contactId);
        assigned.batches.push(batchSizes.length);
      }
      if (assigned.emails.length > 0) {
        await client.query(
          `UPDATE export_removals r SET contact_id = a.contact_id, batch = a.batch
           FROM unnest($2::text[], $3::text[], $4::int[]) AS a (email_key, contact_id, batch)
           WHERE r.run_id = $1 AND r.email_key = a.email_key`,
          [runId, assigned.emails, assigned.ids, assigned.batches],
        );
        await client.query(
          `INSERT INTO export_removal_batches (run_id, batch, contacts, state)
           SELECT $1, ordinality, contacts, 'planned' FROM unnest($2::int[]) WITH ORDINALITY AS b (contacts)`,
          [runId, batchSizes],
        );
      }
      if (notOnList.length > 0) {
        // Not on the list: they leave the snapshot now.
        const leave = new SnapshotBucketChanges(destination);
        for (const email of notOnList) leave.remove(email);
        if ((await applySnapshotChanges(client, leave)) > 0)
          await this.context.bumpRevision(client, destination);
      }
      await client.query(
        `UPDATE export_checkpoints SET removals_looked_up = true, phase = 'removing', updated_at = $2
         WHERE run_id = $1`,
        [runId, this.context.now()],
      );
    });
  }

  async batches(runId: number): Promise<RemovalBatchCheckpoint[]> {
    const { rows } = await this.context.query<{
      batch: number;
      contacts: number;
      state: RemovalBatchState;
      activity_id: string | null;
      submissions: number;
    }>(
      'SELECT batch, contacts, state, activity_id, submissions FROM export_removal_batches WHERE run_id = $1 ORDER BY batch',
      [runId],
    );
    return rows.map((row) => ({
      batch: row.batch,
      contacts: row.contacts,
      state: row.state,
      activityId: row.activity_id ?? undefined,
      submissions: row.submissions,
    }));
  }

  async contactIds(runId: number, batch: number): Promise<string[]> {
    const { rows } = await this.context.query<{ contact_id: string }>(
      'SELECT contact_id FROM export_removals WHERE run_id = $1 AND batch = $2 ORDER BY email_key',
      [runId, batch],
    );
    return rows.map((row) => row.contact_id);
  }

  async markSubmitted(runId: number, batch: number, activityId: string): Promise<void> {
    await this.context.write(runId, async (client) => {
      await client.query(
        `UPDATE export_removal_batches SET state = 'submitted', activity_id = $3, submissions = submissions + 1
         WHERE run_id = $1 AND batch = $2`,
        [runId, batch, activityId],
      );
      await this.context.claimActivity(client, activityId);
    });
  }

  async markPlanned(runId: number, batch: number): Promise<void> {
    await this.context.write(runId, (client) =>
      client.query(
        `UPDATE export_removal_batches SET state = 'planned', activity_id = NULL WHERE run_id = $1 AND batch = $2`,
        [runId, batch],
      ),
    );
  }

  async confirm(runId: number, destination: string, batch: number): Promise<void> {
    await this.context.write(runId, async (client) => {
      const { rows } = await client.query<[string]>({
        text: 'SELECT email_key FROM export_removals WHERE run_id = $1 AND batch = $2',
        values: [runId, batch],
        rowMode: 'array',
      });
      const removed = new SnapshotBucketChanges(destination);
      for (const [email] of rows) removed.remove(email);
      if ((await applySnapshotChanges(client, removed)) > 0)
        await this.context.bumpRevision(client, destination);
      await client.query(
        `UPDATE export_removal_batches SET state = 'confirmed' WHERE run_id = $1 AND batch = $2`,
        [runId, batch],
      );
    });
  }

  async totals(runId: number): Promise<RemovalTotals> {
    const { rows } = await this.context.query<{
      planned: number;
      unassigned: number;
      batches: number;
      confirmed_batches: number;
      removed: number;
      looked_up: boolean | null;
    }>(
      `SELECT (SELECT count(*) FROM export_removals WHERE run_id = $1)::int AS planned,
              (SELECT count(*) FROM export_removals WHERE run_id = $1 AND batch IS NULL)::int AS unassigned,
              (SELECT count(*) FROM export_removal_batches WHERE run_id = $1)::int AS batches,
              (SELECT count(*) FROM export_removal_batches WHERE run_id = $1 AND state = 'confirmed')::int
                AS confirmed_batches,
              (SELECT coalesce(sum(contacts), 0) FROM export_removal_batches
                WHERE run_id = $1 AND state = 'confirmed')::int AS removed,
              (SELECT removals_looked_up FROM export_checkpoints WHERE run_id = $1) AS looked_up`,
      [runId],
    );
    const row = rows[0];
    const notOnList = row?.looked_up === true ? row.unassigned : 0;
    return {
      planned: row?.planned ?? 0,
      batches: row?.batches ?? 0,
      confirmedBatches: row?.confirmed_batches ?? 0,
      removed: (row?.removed ?? 0) + notOnList,
      notOnList,
    };
  }
}
