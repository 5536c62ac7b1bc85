import { ExportctlError } from '../errors';
import { plural } from '../text';

/**
 * Every code a run engine error carries. Stable: the run record, `--output json` and tests match on
 * them, never on message text.
 */
export const runEngineErrorCodes = {
  'destination-not-applied': 'the ExportDestination (or its ProfileSource) is not in the state',
  'state-backend-unsupported':
    'the state is of a backend this build has no run store for (SQLite and PostgreSQL have one)',
  'contact-limit-exceeded': 'the selection holds more distinct contacts than one destination may export',
  'removal-guard': 'the run would remove more of the list than maxRemovalPercent allows',
  'destination-replaced': 'the destination was deleted or replaced (apply) while the run was under way',
  'import-not-accepted': 'an import batch kept failing in Constant Contact after every resubmission',
  'removal-not-accepted': 'a removal activity failed in Constant Contact after every resubmission',
  'run-stopped': 'the run was stopped (signal) before it sent anything; nothing is left to resume',
  'out-of-memory': 'the export worker ran out of its bounded heap',
  'worker-failed': 'the worker thread that runs exports failed or ended before its runs did',
  'unexpected-error': 'a run failed for a reason exportctl does not expect (a bug)',
  'row-issues-elsewhere':
    'a run recorded before row issues were kept in the state wrote them to a CSV file that is not on this machine',
} as const;

export type RunEngineErrorCode = keyof typeof runEngineErrorCodes;

/** A run that cannot start or cannot go on, for one of {@link runEngineErrorCodes}. */
export class RunEngineError extends ExportctlError<RunEngineErrorCode> {}

/**
 * The selection has more distinct contacts (after dedupe by email) than the limit: the run stops
 * before sending anything. `count` and `limit` are in the message too.
 */
export class ContactLimitError extends RunEngineError {
  constructor(
    readonly destination: string,
    readonly count: number,
    readonly limit: number,
  ) {
    super(
      'contact-limit-exceeded',
      `ExportDestination/${destination} selects ${count.toLocaleString('en-US')} distinct contacts, more than the ${limit.toLocaleString('en-US')} one destination may export; nothing was sent`,
      {
        context: { destination, count, limit },
        hint: 'split the destination into several with fewer segments each, or narrow its segments',
      },
    );
  }
}

/**
 * The run would remove more than `maxRemovalPercent` of the list: it stops before sending anything
 * (imports included), so a broken source cannot empty a list.
 */
export class RemovalGuardError extends RunEngineError {
  constructor(
    readonly destination: string,
    readonly removals: number,
    readonly base: number,
    readonly basis: RemovalGuardBasis,
    readonly maxRemovalPercent: number,
  ) {
    const share = base === 0 ? 'all' : `${formatPercent((removals / base) * 100)}%`;
    super(
      'removal-guard',
      `ExportDestination/${destination} would remove ${plural(removals, 'contact')}, ${share} of the ${base.toLocaleString('en-US')} ${basis === 'list' ? 'members of the list' : 'contacts of the last snapshot'}, more than maxRemovalPercent ${maxRemovalPercent}%; nothing was sent`,
      {
        context: { destination, removals, base, basis, maxRemovalPercent },
        hint: 'check the source and the segments first; if the removals are intended, raise maxRemovalPercent and apply, then run again',
      },
    );
  }
}

/** What a removal guard's percentage is of: the list's membership count, or the last snapshot's size. */
export type RemovalGuardBasis = 'list' | 'snapshot';

function formatPercent(value: number): string {
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}
