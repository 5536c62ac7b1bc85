import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatRowLocation, type RowIssue } from '../profiles';
import { csvField } from '../profiles/csv-field';

const header = 'key,field,reason,where,severity,code\n';
const flushAtBytes = 64 * 1024;

/**
 * Where a run's row issues are written: `runs/<destination>/<run id>-row-errors.csv` in the folder of
 * the SQLite state file (beside the state, as private as it), or under the OS temp folder for an
 * in-memory state.
 */
export function rowIssueCsvPath(stateLocation: string, destination: string, runId: number): string {
  const base = stateLocation === ':memory:' ? join(tmpdir(), 'exportctl-runs') : dirname(stateLocation);
  return join(base, 'runs', destination, `${runId}-row-errors.csv`);
}

/**
 * A run's per-row problems as CSV (RFC 4180, UTF-8): `key, field, reason, where, severity, code`, one
 * line per issue: rows not exported (errors), exported with a change or under another row
 * (warnings), and rows Constant Contact refused. Created on the first issue (folders 0700, file
 * 0600, as private as the state beside it), appended to when a resumed run adds more. Buffered: call
 * `close` at the end.
 */
export class RowIssueCsv {
  private buffer = '';
  private fd: number | undefined;

  constructor(readonly path: string) {}

  add(issue: RowIssue): void {
    this.line(
      issue.key ?? '',
      issue.field ?? '',
      issue.message,
      formatRowLocation(issue.where),
      issue.severity,
      issue.code,
    );
  }

  /** A contact Constant Contact refused, as its activity reported it (`activity_errors`). */
  addRejected(batch: number, message: string): void {
    this.line('', '', message, `import batch ${batch}`, 'error', 'rejected-by-constant-contact');
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private line(...cells: string[]): void {
    this.buffer += `${cells.map(csvField).join(',')}\n`;
    if (this.buffer.length >= flushAtBytes) this.flush();
  }

  private flush(): void {
    if (this.buffer === '') return;
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const fresh = !existsSync(this.path);
      this.fd = openSync(this.path, 'a', 0o600);
      if (fresh) writeSync(this.fd, header);
    }
    writeSync(this.fd, this.buffer);
    this.buffer = '';
  }
}
