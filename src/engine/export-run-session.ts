import type { Clock } from '../constant-contact';
import type { RowIssue } from '../profiles';
import { ApiCallTally } from './api-call-tally';
import type { FinishedRunStatus, RunHistoryPort, RunRecord } from './control-plane';
import { rejectedContactLine, rowIssueLine } from './row-issue-csv';
import { type ExportRunRecord, type RunPhase, runRecordJson } from './run-record';
import type { RowIssueLine, RunStore } from './run-store';

/** Where a run is, for a progress bar or log line. */
export interface RunProgress {
  readonly destination: string;
  readonly runId: number;
  readonly phase: RunPhase;
  readonly dryRun: boolean;
  /** Profile rows read so far (the read phase), or in all. */
  readonly profileRows: number;
  /** Contacts staged so far (before dedupe). */
  readonly staged: number;
  readonly importBatches: { readonly done: number; readonly total: number };
  readonly importContacts: { readonly done: number; readonly total: number };
  readonly removals: { readonly done: number; readonly total: number };
  /** Since this process took the run up. */
  readonly elapsedMs: number;
}

export type OnRunProgress = (progress: RunProgress) => void;

/** How often progress is reported at most, besides every phase change. */
const progressIntervalMs = 250;

/**
 * Row issues the read keeps before it writes them: each write is a transaction (an fsync), so a
 * source of a million bad rows is a hundred writes, not one per read batch (a thousand) nor per row.
 */
const issuesPerWrite = 10_000;

/**
 * What one process holds of a run while it works on it: the record being built, the phase timers,
 * the API call tally, the row issues found and not yet written, and the progress callback. Saving
 * writes the record into the run history (a run resumed by another process starts from the saved
 * record) and the row issues into the run store.
 */
export class ExportRunSession {
  readonly tally: ApiCallTally;
  private current: ExportRunRecord;
  private phaseStartedAt: number;
  private readonly startedAt: number;
  private lastProgressAt = Number.NEGATIVE_INFINITY;
  /** Row issues, counted in place: a source with a warning on every row must not rebuild the record each time. */
  private readonly issues: {
    errors: number;
    warnings: number;
    byCode: Record<string, number>;
  };
  /** Row issues found since the last write (`writeIssues`). */
  private pendingIssues: RowIssueLine[] = [];
  /** The last row-issue write: writes go one after the other, so issues keep the order found. */
  private issueWrite: Promise<void> = Promise.resolve();
  private readonly live = {
    profileRows: 0,
    staged: 0,
    importBatches: { done: 0, total: 0 },
    importContacts: { done: 0, total: 0 },
    removals: { done: 0, total: 0 },
  };

  constructor(
    readonly run: RunRecord,
    record: ExportRunRecord,
    private readonly context: {
      readonly runs: RunHistoryPort;
      readonly runStore: RunStore;
      readonly clock: Clock;
      readonly onProgress: OnRunProgress | undefined;
    },
  ) {
    this.current = record;
    this.issues = {
      errors: record.rowIssues.errors,
      warnings: record.rowIssues.warnings,
      byCode: { ...record.rowIssues.byCode },
    };
    this.tally = new ApiCallTally(record.apiCalls);
    this.tally.phase = record.phase;
    this.startedAt = context.clock.now();
    this.phaseStartedAt = this.startedAt;
  }

  get runId(): number {
    return this.run.id;
  }

  get destination(): string {
    return this.run.destination;
  }

  get record(): ExportRunRecord {
    const { errors, warnings, byCode } = this.issues;
    return {
      ...this.current,
      // `csv`: only a run recorded before row issues moved into the state names a file.
      rowIssues: { errors, warnings, byCode: { ...byCode }, csv: this.current.rowIssues.csv },
      apiCalls: this.tally.snapshot(),
    };
  }

  get runStore(): RunStore {
    return this.context.runStore;
  }

  /** Changes the record (everything but the API calls and row issues, which are counted apart). */
  update(change: Partial<ExportRunRecord>): void {
    this.current = { ...this.current, ...change };
  }

  /** Ends the current phase's timer and starts `phase`'s. */
  enter(phase: RunPhase): void {
    this.closePhase();
    this.current = { ...this.current, phase };
    this.tally.phase = phase;
    this.progress({}, true);
  }

  /** Counts one row issue and keeps it for the next `writeIssues`. */
  readonly issue = (issue: RowIssue): void => {
    this.pendingIssues.push(rowIssueLine(issue));
    const issues = this.issues;
    if (issue.severity === 'error') issues.errors += 1;
    else if (issue.severity === 'warning') issues.warnings += 1;
    issues.byCode[issue.code] = (issues.byCode[issue.code] ?? 0) + 1;
  };

  /** Keeps a contact Constant Contact refused (import batch `batch`) for the next `writeIssues`. */
  rejected(batch: number, message: string): void {
    this.pendingIssues.push(rejectedContactLine(batch, message));
  }

  /**
   * Appends the row issues found since the last write to the run's (`RunStore.rowIssues`), in one
   * write. The read calls it after each batch of rows, and it writes once `issuesPerWrite` are
   * waiting (a run that dies while reading starts over as a new run, so none is lost that
   * matters); `save` and `finish` write whatever is waiting (`all`) before the record.
   */
  async writeIssues(all = false): Promise<void> {
    if (this.pendingIssues.length === 0 || (!all && this.pendingIssues.length < issuesPerWrite)) return;
    const issues = this.pendingIssues;
    this.pendingIssues = [];
    // The read writes them, and (sending while reading) so does each confirmed batch's save.
    const write = this.issueWrite.then(() =>
      this.context.runStore.rowIssues.append(this.runId, this.destination, issues),
    );
    this.issueWrite = write.catch(() => undefined);
    await write;
  }

  /**
   * The run reads its source again from the start (it was taken up after it had sent batches while
   * reading, see `RunExport`): the row issues found so far are forgotten with the store's.
   */
  async restartRead(): Promise<void> {
    await this.issueWrite;
    this.pendingIssues = [];
    this.issues.errors = 0;
    this.issues.warnings = 0;
    for (const code of Object.keys(this.issues.byCode)) delete this.issues.byCode[code];
    await this.context.runStore.rowIssues.forget(this.runId);
  }

  /** Reports progress (at most every 250 ms unless `force`), merging `change` into what is known. */
  progress(change: Partial<typeof this.live>, force = false): void {
    Object.assign(this.live, change);
    const now = this.context.clock.now();
    if (!force && now - this.lastProgressAt < progressIntervalMs) return;
    this.lastProgressAt = now;
    this.context.onProgress?.({
      destination: this.destination,
      runId: this.runId,
      phase: this.current.phase,
      dryRun: this.current.dryRun,
      ...structuredClone(this.live),
      elapsedMs: now - this.startedAt,
    });
  }

  /** Writes the record (the run stays `running` or `paused`). */
  async save(status: 'running' | 'paused' = 'running'): Promise<RunRecord> {
    this.closePhase();
    await this.writeIssues(true);
    return this.context.runs.update(this.runId, { status, record: runRecordJson(this.record) });
  }

  /** Ends the run with `status`, its record complete. */
  async finish(status: FinishedRunStatus): Promise<RunRecord> {
    this.closePhase();
    await this.writeIssues(true);
    return this.context.runs.finish(this.runId, { status, record: runRecordJson(this.record) });
  }

  private closePhase(): void {
    const now = this.context.clock.now();
    const spent = now - this.phaseStartedAt;
    this.phaseStartedAt = now;
    if (spent <= 0) return;
    const timings = this.current.timingsMs;
    const phase = this.current.phase;
    this.current = {
      ...this.current,
      timingsMs: { ...timings, [phase]: (timings[phase] ?? 0) + spent, total: (timings.total ?? 0) + spent },
    };
  }
}
