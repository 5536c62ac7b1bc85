import { decodeRowIssueChunk, encodeRowIssueChunks } from '../row-issue-chunks';
import type { RowIssueLine, RowIssueStore } from '../run-store';
import type { PostgresRunContext } from './postgres-run-context';

/**
 * The row issues of each run in a PostgreSQL state: `export_row_issue_runs` (one row per run, with
 * how many it has) and `export_row_issues` (chunks of deflated JSON, as the SQLite store keeps
 * them: `encodeRowIssueChunks`). An append is one transaction that locks its run's row, so two
 * appends of one run (never expected: the run lock keeps a run in one process) still number their
 * issues one after the other.
 */
export class PostgresRowIssues implements RowIssueStore {
  constructor(private readonly context: PostgresRunContext) {}

  async append(runId: number, destination: string, issues: readonly RowIssueLine[]): Promise<void> {
    if (issues.length === 0) return;
    await this.context.transaction(async (client) => {
      await client.query(
        `INSERT INTO export_row_issue_runs (run_id, destination, issues) VALUES ($1, $2, 0)
         ON CONFLICT (run_id) DO NOTHING`,
        [runId, destination],
      );
      const { rows } = await client.query<{ issues: string }>(
        'SELECT issues FROM export_row_issue_runs WHERE run_id = $1 FOR UPDATE',
        [runId],
      );
      const issued = Number(rows[0]?.issues ?? 0);
      const chunks = encodeRowIssueChunks(issues, issued + 1);
      await client.query(
        `INSERT INTO export_row_issues (run_id, first_seq, issues, lines)
         SELECT $1, * FROM unnest($2::bigint[], $3::integer[], $4::bytea[])`,
        [
          runId,
          chunks.map((chunk) => chunk.firstSeq),
          chunks.map((chunk) => chunk.issues),
          chunks.map((chunk) => chunk.lines),
        ],
      );
      await client.query('UPDATE export_row_issue_runs SET issues = $2 WHERE run_id = $1', [
        runId,
        issued + issues.length,
      ]);
    });
  }

  async count(runId: number): Promise<number> {
    const { rows } = await this.context.query<{ issues: string }>(
      'SELECT issues FROM export_row_issue_runs WHERE run_id = $1',
      [runId],
    );
    return Number(rows[0]?.issues ?? 0);
  }

  async *read(runId: number, pageSize = 5000): AsyncGenerator<readonly RowIssueLine[]> {
    let page: RowIssueLine[] = [];
    let after = 0;
    for (;;) {
      // A chunk at a time by key: constant memory, and other calls may run between pages.
      const { rows } = await this.context.query<{ first_seq: string; lines: Buffer }>(
        `SELECT first_seq, lines FROM export_row_issues
         WHERE run_id = $1 AND first_seq > $2 ORDER BY first_seq LIMIT 1`,
        [runId, after],
      );
      const chunk = rows[0];
      if (chunk === undefined) break;
      after = Number(chunk.first_seq);
      for (const line of decodeRowIssueChunk(chunk.lines)) {
        page.push(line);
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
    }
    if (page.length > 0) yield page;
  }

  async forget(runId: number): Promise<void> {
    // The chunks go with their run's row (ON DELETE CASCADE).
    await this.context.query('DELETE FROM export_row_issue_runs WHERE run_id = $1', [runId]);
  }

  async forgetDestination(destination: string): Promise<void> {
    await this.context.query('DELETE FROM export_row_issue_runs WHERE destination = $1', [destination]);
  }
}
