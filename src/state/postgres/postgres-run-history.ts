import type pg from 'pg';
import type {
  RunFinish,
  RunHistory,
  RunQuery,
  RunRecord,
  RunStatus,
  RunToStart,
  RunUpdate,
} from '../run-history';
import { type RunRow, toRun } from '../run-rows';
import { canonicalJson, type JsonObject } from '../spec-hash';
import { StateError } from '../state-errors';
import type { PostgresStateContext } from './postgres-state-context';

const DEFAULT_LIMIT = 50;

/** {@link RunHistory} on the `runs` table; ids come from its identity column. */
export class PostgresRunHistory implements RunHistory {
  constructor(private readonly context: PostgresStateContext) {}

  async start(run: RunToStart): Promise<RunRecord> {
    const { rows } = await this.context.query<RunRow>(
      `INSERT INTO runs (destination, trigger_kind, actor, status, started_at, git_commit, record)
       VALUES ($1, $2, $3, 'running', $4, $5, $6) RETURNING *`,
      [
        run.destination,
        run.trigger,
        run.actor ?? null,
        this.context.clock.now(),
        run.gitCommit ?? null,
        canonicalJson(run.record ?? {}),
      ],
    );
    return toRun(rows[0] as RunRow);
  }

  async update(id: number, update: RunUpdate): Promise<RunRecord> {
    return this.change(id, update.status, update.record, false);
  }

  async finish(id: number, finish: RunFinish): Promise<RunRecord> {
    return this.change(id, finish.status, finish.record, true);
  }

  async get(id: number): Promise<RunRecord | undefined> {
    const row = await this.context.reachable(() => this.row(this.context.pool(), id), true);
    return row === undefined ? undefined : toRun(row);
  }

  async list(query: RunQuery = {}): Promise<RunRecord[]> {
    const { rows } = await this.context.query<RunRow>(
      `SELECT * FROM runs WHERE ($1::text IS NULL OR destination = $1)
         AND ($2::bigint IS NULL OR (started_at, id) < ($2::bigint, $3::bigint))
       ORDER BY started_at DESC, id DESC LIMIT $4`,
      [
        query.destination ?? null,
        query.before?.startedAt ?? null,
        query.before?.id ?? null,
        query.limit ?? DEFAULT_LIMIT,
      ],
    );
    return rows.map(toRun);
  }

  async lastPerDestination(): Promise<RunRecord[]> {
    const { rows } = await this.context.query<RunRow>(
      `SELECT DISTINCT ON (destination COLLATE "C") * FROM runs
       ORDER BY destination COLLATE "C", started_at DESC, id DESC`,
    );
    return rows.map(toRun);
  }

  private async change(
    id: number,
    status: RunStatus | undefined,
    record: JsonObject | undefined,
    finish: boolean,
  ): Promise<RunRecord> {
    return this.context.transaction(async (client) => {
      const existing = await this.row(client, id, true);
      if (existing === undefined) {
        throw new StateError('run-not-found', `run ${id} is not in the run history`, {
          context: { run: id },
        });
      }
      if (existing.finished_at !== null) {
        throw new StateError(
          'run-already-finished',
          `run ${id} of ${existing.destination} has already finished`,
          {
            context: { run: id, destination: existing.destination, status: existing.status },
            hint: 'a finished run is final: start a new run instead',
          },
        );
      }
      const { rows } = await client.query<RunRow>(
        `UPDATE runs SET status = COALESCE($1, status), record = COALESCE($2, record), finished_at = $3
         WHERE id = $4 RETURNING *`,
        [
          status ?? null,
          record === undefined ? null : canonicalJson(record),
          finish ? this.context.clock.now() : null,
          id,
        ],
      );
      return toRun(rows[0] as RunRow);
    }, false);
  }

  private async row(
    client: pg.Pool | pg.ClientBase,
    id: number,
    forUpdate = false,
  ): Promise<RunRow | undefined> {
    const { rows } = await client.query<RunRow>(
      `SELECT * FROM runs WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }
}
