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
import type { SqliteStateContext } from './sqlite-state-context';

const DEFAULT_LIMIT = 50;

/** {@link RunHistory} on the `runs` table. */
export class SqliteRunHistory implements RunHistory {
  constructor(private readonly context: SqliteStateContext) {}

  async start(run: RunToStart): Promise<RunRecord> {
    const result = this.context
      .database()
      .prepare(
        `INSERT INTO runs (destination, trigger_kind, actor, status, started_at, git_commit, record)
         VALUES (?, ?, ?, 'running', ?, ?, ?)`,
      )
      .run(
        run.destination,
        run.trigger,
        run.actor ?? null,
        this.context.clock.now(),
        run.gitCommit ?? null,
        canonicalJson(run.record ?? {}),
      );
    return this.mustGet(Number(result.lastInsertRowid));
  }

  async update(id: number, update: RunUpdate): Promise<RunRecord> {
    return this.change(id, update.status, update.record, false);
  }

  async finish(id: number, finish: RunFinish): Promise<RunRecord> {
    return this.change(id, finish.status, finish.record, true);
  }

  async get(id: number): Promise<RunRecord | undefined> {
    const row = this.row(id);
    return row === undefined ? undefined : toRun(row);
  }

  async list(query: RunQuery = {}): Promise<RunRecord[]> {
    const rows = this.context
      .database()
      .prepare(
        `SELECT * FROM runs WHERE (@destination IS NULL OR destination = @destination)
           AND (@beforeStart IS NULL OR (started_at, id) < (@beforeStart, @beforeId))
         ORDER BY started_at DESC, id DESC LIMIT @limit`,
      )
      .all({
        destination: query.destination ?? null,
        limit: query.limit ?? DEFAULT_LIMIT,
        beforeStart: query.before?.startedAt ?? null,
        beforeId: query.before?.id ?? null,
      }) as RunRow[];
    return rows.map(toRun);
  }

  async lastPerDestination(): Promise<RunRecord[]> {
    const rows = this.context
      .database()
      .prepare(
        `SELECT * FROM runs AS outer_run
         WHERE id = (SELECT id FROM runs WHERE destination = outer_run.destination
                     ORDER BY started_at DESC, id DESC LIMIT 1)
         ORDER BY destination`,
      )
      .all() as RunRow[];
    return rows.map(toRun);
  }

  private change(id: number, status: RunStatus | undefined, record: JsonObject | undefined, finish: boolean) {
    const db = this.context.database();
    return db
      .transaction((): RunRecord => {
        const existing = this.row(id);
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
        db.prepare(
          `UPDATE runs SET status = COALESCE(?, status), record = COALESCE(?, record), finished_at = ?
           WHERE id = ?`,
        ).run(
          status ?? null,
          record === undefined ? null : canonicalJson(record),
          finish ? this.context.clock.now() : null,
          id,
        );
        return this.mustGet(id);
      })
      .immediate();
  }

  private row(id: number): RunRow | undefined {
    return this.context.database().prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
  }

  private mustGet(id: number): RunRecord {
    const row = this.row(id);
    if (row === undefined) throw new StateError('run-not-found', `run ${id} is not in the run history`);
    return toRun(row);
  }
}
