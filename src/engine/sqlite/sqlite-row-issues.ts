import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { RowIssueLine, RowIssueStore } from '../run-store';
import type { SqliteRunContext } from './sqlite-run-context';

/** One issue as a chunk stores it. */
type StoredLine = [key: string, field: string, reason: string, where: string, severity: string, code: string];

/** The most issues one chunk row holds: an append of more writes several rows. */
const issuesPerChunk = 5000;

/**
 * The row issues of each run in the SQLite state: `export_row_issue_runs` (one row per run, with how
 * many it has) and `export_row_issues` (the issues in chunks of up to 5,000, as deflated JSON, keyed
 * by the place of their first one in the run). An append is one transaction and a few rows,
 * whatever its size: a row of text per issue made a million bad rows cost seconds of a run and
 * ~190 MB of state; deflated, their text (alike from row to row) is a twelfth of that.
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
      if (row === undefined) {
        db.prepare('INSERT INTO export_row_issue_runs (run_id, destination, issues) VALUES (?, ?, 0)').run(
          runId,
          destination,
        );
      }
      const insert = db.prepare(
        'INSERT INTO export_row_issues (run_id, first_seq, issues, lines) VALUES (?, ?, ?, ?)',
      );
      let seq = (row?.issues ?? 0) + 1;
      for (let start = 0; start < issues.length; start += issuesPerChunk) {
        const chunk = issues.slice(start, start + issuesPerChunk);
        const lines = chunk.map(
          (issue): StoredLine => [
            issue.key,
            issue.field,
            issue.reason,
            issue.where,
            issue.severity,
            issue.code,
          ],
        );
        insert.run(runId, seq, chunk.length, deflateRawSync(JSON.stringify(lines), { level: 1 }));
        seq += chunk.length;
      }
      db.prepare('UPDATE export_row_issue_runs SET issues = ? WHERE run_id = ?').run(seq - 1, runId);
    }).immediate();
  }

  async count(runId: number): Promise<number> {
    const row = this.context.db
      .prepare('SELECT issues FROM export_row_issue_runs WHERE run_id = ?')
      .get(runId) as { issues: number } | undefined;
    return row?.issues ?? 0;
  }

  async *read(runId: number, pageSize = 5000): AsyncGenerator<readonly RowIssueLine[]> {
    const next = this.context.db.prepare(
      'SELECT first_seq, lines FROM export_row_issues WHERE run_id = ? AND first_seq > ? ORDER BY first_seq LIMIT 1',
    );
    let page: RowIssueLine[] = [];
    let after = 0;
    for (;;) {
      // One chunk at a time: better-sqlite3 runs no statement while another one iterates.
      const chunk = next.get(runId, after) as { first_seq: number; lines: Buffer } | undefined;
      if (chunk === undefined) break;
      after = chunk.first_seq;
      const lines = JSON.parse(inflateRawSync(chunk.lines).toString('utf8')) as StoredLine[];
      for (const [key, field, reason, where, severity, code] of lines) {
        page.push({ key, field, reason, where, severity: severity as RowIssueLine['severity'], code });
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
    }
    if (page.length > 0) yield page;
  }

  async forget(runId: number): Promise<void> {
    const { db } = this.context;
    db.transaction(() => {
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
