import { formatRowLocation, type RowIssue } from '../profiles';
import { csvField } from '../profiles/csv-field';
import type { RowIssueLine, RowIssueStore } from './run-store';

/** The first line of a run's row-issue CSV: its columns. */
export const rowIssueCsvHeader = 'key,field,reason,where,severity,code\n';

/** A row issue the read found, as the run's row issues keep it. */
export function rowIssueLine(issue: RowIssue): RowIssueLine {
  return {
    key: issue.key ?? '',
    field: issue.field ?? '',
    reason: issue.message,
    where: formatRowLocation(issue.where),
    severity: issue.severity,
    code: issue.code,
  };
}

/** A contact Constant Contact refused, as its activity reported it (`activity_errors`). */
export function rejectedContactLine(batch: number, message: string): RowIssueLine {
  return {
    key: '',
    field: '',
    reason: message,
    where: `import batch ${batch}`,
    severity: 'error',
    code: 'rejected-by-constant-contact',
  };
}

/** One line of the CSV (RFC 4180), line break included. */
export function rowIssueCsvLine(line: RowIssueLine): string {
  return `${[line.key, line.field, line.reason, line.where, line.severity, line.code].map(csvField).join(',')}\n`;
}

/**
 * A run's row issues as CSV (RFC 4180, UTF-8): the header `key,field,reason,where,severity,code`,
 * then one line per issue in the order the run found them: rows not exported (errors), exported
 * with a change or under another row (warnings), and rows Constant Contact refused. Yields the
 * header alone for a run with none, then one chunk per page of the store.
 */
export async function* rowIssueCsv(store: RowIssueStore, runId: number): AsyncGenerator<string> {
  yield rowIssueCsvHeader;
  for await (const page of store.read(runId)) yield page.map(rowIssueCsvLine).join('');
}
