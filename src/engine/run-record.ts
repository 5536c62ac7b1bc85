import { type ApiCallCounts, noApiCalls } from './api-call-tally';
import type { ListCheck } from './check-list-membership';
import type { JsonObject, RunRecord, RunStatus, RunTrigger } from './control-plane';
import type { DataPlan } from './data-plan';

/** The steps of a run, in order; the run record times each. */
export type RunPhase = 'preflight' | 'read' | 'plan' | 'import' | 'remove' | 'finish';

/** A run's counts (the run record's `counts`). */
export type RunCounts = {
  /** Rows of the profiles source read. */
  readonly read: number;
  /** Rows of the segment-membership source read. */
  readonly membershipRows: number;
  /** Distinct profile keys in at least one selected segment. */
  readonly inSegments: number;
  /** Selected keys with no profile row. */
  readonly withoutProfile: number;
  /** Rows not exported for an error of their own (bad email, unreadable row, duplicate key...). */
  readonly invalid: number;
  /** Rows exported with a change (name truncated, control characters replaced). */
  readonly warnings: number;
  /** Profiles not exported because another selected profile has the same email. */
  readonly duplicate: number;
  /** Distinct contacts selected: what the list should hold. */
  readonly contacts: number;
  /** Of those, new to the list (not in the last snapshot). */
  readonly added: number;
  /** Of those, in the snapshot with other names. */
  readonly updated: number;
  /** Of those, unchanged since the last snapshot (not sent, unless `full`). */
  readonly unchanged: number;
  /** Contacts in import activities that completed. */
  readonly imported: number;
  /** Contacts removed from the list, or found not to be on it any more. */
  readonly removed: number;
  /** Contacts Constant Contact did not add because they unsubscribed (`cannot_add_to_list_count`). */
  readonly unsubscribed: number;
  /** Contacts Constant Contact refused (`error_count`). */
  readonly rejected: number;
  /** Requests that failed (no answer or an error status), retried or not. */
  readonly apiErrors: number;
};

export const zeroCounts: RunCounts = {
  read: 0,
  membershipRows: 0,
  inSegments: 0,
  withoutProfile: 0,
  invalid: 0,
  warnings: 0,
  duplicate: 0,
  contacts: 0,
  added: 0,
  updated: 0,
  unchanged: 0,
  imported: 0,
  removed: 0,
  unsubscribed: 0,
  rejected: 0,
  apiErrors: 0,
};

/**
 * The `record` of an export run in the run history (`RunRecord.record`), version 1. Written when the
 * run starts, after planning, after each confirmed batch, and when it ends or pauses; a resumed run
 * keeps adding to the record of the run it resumes.
 */
export type ExportRunRecord = {
  readonly version: 1;
  /** The applied destination the run exported, at its start. */
  readonly destination: {
    readonly generation: number;
    readonly connection: string;
    readonly source: string;
    readonly listId: string;
    readonly segments: readonly string[];
    readonly removal: 'keep' | 'remove-from-list';
    readonly maxRemovalPercent: number;
    /**
     * The contact fields the mapping sends besides email (`sentFieldNames`); absent in records
     * written before other fields could be mapped.
     */
    readonly mappedFields?: readonly string[];
  };
  readonly dryRun: boolean;
  /** `--full`: every contact sent, changed or not. */
  readonly full: boolean;
  /** The phase the run is in, or ended in. */
  readonly phase: RunPhase;
  readonly counts: RunCounts;
  readonly membersPerSegment: Readonly<Record<string, number>>;
  /** Segment names in the data that differ from a selected one only in case or spaces. */
  readonly segmentNearMisses: readonly { readonly found: string; readonly selected: string }[];
  /** The list's `membership_count` at the start (null for a dry run, which asks nothing). */
  readonly listMembersAtStart: number | null;
  /**
   * The list held against what exportctl put there, before planning (a fresh real run only; absent
   * in records written before this was checked).
   */
  readonly listCheck?: ListCheck | null;
  readonly plan: DataPlan | null;
  readonly batches: {
    readonly imports: number;
    readonly importsConfirmed: number;
    readonly removals: number;
    readonly removalsConfirmed: number;
  };
  /** Milliseconds spent per phase, summed over resumes; `total` is their sum. */
  readonly timingsMs: Readonly<Partial<Record<RunPhase | 'total', number>>>;
  readonly apiCalls: ApiCallCounts;
  readonly rowIssues: {
    readonly errors: number;
    readonly warnings: number;
    readonly byCode: Readonly<Record<string, number>>;
    /**
     * null: the issues are in the state (`RunStore.rowIssues`; `exportctl runs NAME RUN
     * --row-issues`). A run recorded before they were kept there names the CSV file it wrote
     * beside the state instead.
     */
    readonly csv: string | null;
  };
  /** Each time another process took the run up again. */
  readonly resumes: readonly {
    readonly at: string;
    readonly trigger: RunTrigger;
    readonly actor: string | null;
    /** The status it was found in: `running` (its process died) or `paused`. */
    readonly from: RunStatus;
  }[];
  /** Set while paused. */
  readonly pause: {
    /**
     * `quota`: the API key's daily quota; `stopped`: a signal; `state-unreachable`: the PostgreSQL
     * state's connection stayed lost past its retry bound (`state-connection-lost`).
     */
    readonly reason: 'quota' | 'stopped' | 'state-unreachable';
    /** When the daily quota resets (ISO 8601), for a quota pause. */
    readonly resumeAt: string | null;
    readonly message: string;
  } | null;
  /** Set when the run failed or was aborted. */
  readonly error: { readonly code: string; readonly message: string; readonly hint: string | null } | null;
  /**
   * What the run was planned from (the source's content hash, the specs' generations, the engine's
   * version), set when it read the source; absent in records written before it was kept.
   */
  readonly unchangedMark?: string | null;
  /**
   * `unchanged`: the run found everything as the last successful run left it (the source's
   * content, the specs, the snapshot, the list's membership_count) and neither read nor sent
   * anything; its counts are the last run's contacts, all unchanged.
   */
  readonly skipped?: 'unchanged' | null;
  /**
   * What the run's earlier reads had imported when it read its source again from the start (its
   * process ended while it still read, after batches had left: see `RunExport`); the import counts
   * and batches add it. Absent for a run that read once.
   */
  readonly earlierReads?: EarlierReads | null;
};

/** The import totals of a run's earlier reads (`ExportRunRecord.earlierReads`). */
export interface EarlierReads {
  readonly reads: number;
  readonly imported: number;
  readonly unsubscribed: number;
  readonly rejected: number;
  readonly batches: number;
  readonly confirmedBatches: number;
}

/** A run's import totals as its record counts them: the store's, plus its earlier reads'. */
export function runImportTotals<T extends Omit<EarlierReads, 'reads'>>(
  totals: T,
  record: ExportRunRecord,
): T {
  const earlier = record.earlierReads;
  if (!earlier) return totals;
  return {
    ...totals,
    imported: totals.imported + earlier.imported,
    unsubscribed: totals.unsubscribed + earlier.unsubscribed,
    rejected: totals.rejected + earlier.rejected,
    batches: totals.batches + earlier.batches,
    confirmedBatches: totals.confirmedBatches + earlier.confirmedBatches,
  };
}

/**
 * A run's duration: the time its processes worked on it (`timingsMs.total`, summed over resumes), not
 * the time from its first start to its end, which would count the hours a run waited paused for the
 * daily quota or for someone to run it again. The time a killed process worked after its last save is
 * lost with it. Undefined for a run without an export record. `run`'s summary, `runs` and `--output
 * json` (`durationMs`) all use this one definition (docs/run-engine.md).
 */
export function runDurationMs(run: RunRecord): number | undefined {
  const record = exportRunRecord(run);
  return record === undefined ? undefined : (record.timingsMs.total ?? 0);
}

/** A pause in brief: `quota until 2026-11-23T00:00:00Z`, or `stopped`. */
export function pauseText(pause: NonNullable<ExportRunRecord['pause']>): string {
  return `${pause.reason}${pause.resumeAt ? ` until ${pause.resumeAt}` : ''}`;
}

/** The record of a run that has just started. */
export function newRunRecord(
  destination: ExportRunRecord['destination'],
  flags: { dryRun: boolean; full: boolean },
): ExportRunRecord {
  return {
    version: 1,
    destination,
    dryRun: flags.dryRun,
    full: flags.full,
    phase: 'preflight',
    counts: zeroCounts,
    membersPerSegment: {},
    segmentNearMisses: [],
    listMembersAtStart: null,
    listCheck: null,
    plan: null,
    batches: { imports: 0, importsConfirmed: 0, removals: 0, removalsConfirmed: 0 },
    timingsMs: {},
    apiCalls: noApiCalls,
    rowIssues: { errors: 0, warnings: 0, byCode: {}, csv: null },
    resumes: [],
    pause: null,
    error: null,
    unchangedMark: null,
    skipped: null,
  };
}

/** The record as the run history stores it. */
export function runRecordJson(record: ExportRunRecord): JsonObject {
  // Only JSON values by construction; the readonly arrays are what the cast hides.
  return record as unknown as JsonObject;
}

/**
 * The export record of a run from the history, or undefined when it is not one (a run recorded by
 * an older build, or by something else than the engine).
 */
export function exportRunRecord(run: RunRecord): ExportRunRecord | undefined {
  const record = run.record as Partial<ExportRunRecord>;
  return record.version === 1 && typeof record.counts === 'object' ? (record as ExportRunRecord) : undefined;
}
