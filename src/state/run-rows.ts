import type { RunRecord, RunStatus, RunTrigger } from './run-history';
import type { JsonObject } from './spec-hash';

/**
 * A `runs` row as every backend's table holds it (the same columns in SQLite and PostgreSQL); ids
 * and times come as numbers (SQLite) or as the strings pg gives for BIGINT.
 */
export interface RunRow {
  id: number | string;
  destination: string;
  trigger_kind: string;
  actor: string | null;
  status: string;
  started_at: number | string;
  finished_at: number | string | null;
  git_commit: string | null;
  record: string;
}

/** The run record a row holds. */
export function toRun(row: RunRow): RunRecord {
  return {
    id: Number(row.id),
    destination: row.destination,
    trigger: row.trigger_kind as RunTrigger,
    actor: row.actor ?? undefined,
    status: row.status as RunStatus,
    startedAt: Number(row.started_at),
    finishedAt: row.finished_at === null ? undefined : Number(row.finished_at),
    gitCommit: row.git_commit ?? undefined,
    record: JSON.parse(row.record) as JsonObject,
  };
}
