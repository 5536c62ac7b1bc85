import type { RowIssueLine, RowIssueStore } from '../run-store';
import type { SqliteRunContext } from './sqlite-run-context';

type RowIssueRow = [string, string, string, string, RowIssueLine['severity'], string];

/**
 * The row issues of each run in the SQLite state (`export_row_issue_runs`, one row per run with how
 * many it has; `export_row_issues`, one row per issue keyed by its place in the run). An append is
 * one transaction, whatever its size.
 */
export class SqliteRowIssues implements RowIssueStore {
  constructor(private readonly context: SqliteRunContext) {}

  async append(runId: number, destination: string, issues: readonly RowIssueLine[]): Promise<void> {
    if (issues.length === 0) return;
    const { db } = this.context;
    db.transaction(() => {
      const row = db.prepare('SELECT issues FROM export_row_issue_runs WHERE run_id = ?').get(runId) as
        | { issues: number }
        | undefined;
      let seq = row?.issues ?? 0;
      if (row === undefined) {
        db.prepare('INSERT INTO export_row_issue_runs (run_id, destination, issues) VALUES (?, ?, 0)').run(
          runId,
          destination,
        );
      }
      const insert = db.prepare(
        `INSERT INTO export_row_issues (run_id, seq, key, field, reason, location, severity, code)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const issue of issues) {
        seq += 1;
        insert.run(runId, seq, issue.key, issue.field, issue.reason, issue.where, issue.severity, issue.code);
      }
      db.prepare('UPDATE export_row_issue_runs SET issues = ? WHERE run_id = ?').run(seq, runId);
    }).immediate();
  }

  async count(runId: number): Promise<number> {
    const row = this.context.db
      .prepare('SELECT issues FROM export_row_issue_runs WHERE run_id = ?')
      .get(runId) as { issues: number } | undefined;
    return row?.issues ?? 0;
  }

  async *read(runId: number, pageSize = 5000): AsyncGenerator<readonly RowIssueLine[]> {
    const page = this.context.db
      .prepare(
        `SELECT seq, key, field, reason, location, severity, code FROM export_row_issues
         WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      )
      .raw();
    let after = 0;
    for (;;) {
      const rows = page.all(runId, after, pageSize) as [number, ...RowIssueRow][];
      if (rows.length > 0) {
        yield rows.map(([, key, field, reason, where, severity, code]) => ({
          key,
          field,
          reason,
          where,
          severity,
          code,
        }));
      }
      if (rows.length < pageSize) return;
      after = (rows[rows.length - 1] as [number, ...RowIssueRow])[0];
    }
  }

  async forget(runId: number): Promise<void> {
    const { db } = this.context;
    db.transaction(() => {
      // The issues by their key first: cheaper than the cascade row by row.
      db.prepare('DELETE FROM export_row_issues WHERE run_id = ?').run(runId);
      db.prepare('DELETE FROM export_row_issue_runs WHERE run_id = ?').run(runId);
    }).immediate();
  }

  async forgetDestination(destination: string): Promise<void> {
    const { db } = this.context;
    db.transaction(() => {
      db.prepare(
        `DELETE FROM export_row_issues
         WHERE run_id IN (SELECT run_id FROM export_row_issue_runs WHERE destination = ?)`,
      ).run(destination);
      db.prepare('DELETE FROM export_row_issue_runs WHERE destination = ?').run(destination);
    }).immediate();
  }
}
