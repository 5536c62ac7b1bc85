import { decodeSnapshotBucket, SnapshotBucketChanges } from './snapshot-buckets';
import { joinFingerprint, splitFingerprint } from './snapshot-fingerprint';

/**
 * The run engine's records as `exportctl state migrate` moves them between states of any backends.
 * A checkpoint is an unfinished run (staged contacts, batches in flight): the migration refuses a
 * source that has one, so none is ever moved; what moves is what finished runs left behind.
 */
export type RunEngineRecords =
  | {
      readonly kind: 'snapshots';
      /** Confirmed membership; `fingerprint`: the 64-bit value both backends keep (0: never confirmed). */
      readonly rows: readonly {
        readonly destination: string;
        readonly emailKey: string;
        readonly fingerprint: bigint;
        readonly confirmedRun: number;
      }[];
    }
  | {
      readonly kind: 'revisions';
      readonly rows: readonly { readonly destination: string; readonly revision: number }[];
    }
  | {
      readonly kind: 'unchanged-marks';
      readonly rows: readonly {
        readonly destination: string;
        readonly mark: string;
        readonly revision: number;
      }[];
    }
  | {
      readonly kind: 'list-baselines';
      readonly rows: readonly {
        readonly destination: string;
        readonly listId: string;
        readonly membershipCount: number;
        readonly observedAt: number;
      }[];
    }
  | {
      readonly kind: 'claimed-activities';
      readonly rows: readonly { readonly activityId: string; readonly claimedAt: number }[];
    }
  | {
      readonly kind: 'row-issue-runs';
      readonly rows: readonly {
        readonly runId: number;
        readonly destination: string;
        readonly issues: number;
      }[];
    }
  | {
      readonly kind: 'row-issues';
      /** `lines`: the chunk as stored (deflated JSON), copied byte for byte. */
      readonly rows: readonly {
        readonly runId: number;
        readonly firstSeq: number;
        readonly issues: number;
        readonly lines: Uint8Array;
      }[];
    };

/** A destination's unfinished run, as its checkpoint names it. */
export interface CheckpointedRun {
  readonly runId: number;
  readonly destination: string;
  readonly phase: string;
}

/** How many records of each kind the run engine holds in a state. */
export interface RunEngineContents {
  readonly snapshotRows: number;
  readonly snapshotDestinations: number;
  readonly rowIssueRuns: number;
  readonly checkpoints: readonly CheckpointedRun[];
}

/**
 * The run engine's half of a state copy on one backend, on the transaction handle `H` the state's
 * half opened (see `ControlPlaneTransfer`): so both halves are one read and one write.
 */
export interface RunEngineTransfer<H> {
  contents(handle: H): Promise<RunEngineContents>;
  /** Every record but checkpoints, in chunks of at most `chunkSize` rows. */
  read(handle: H, chunkSize: number): AsyncIterable<RunEngineRecords>;
  /** Deletes every record, checkpoints included (for `--force`). */
  clear(handle: H): Promise<void>;
  write(handle: H, records: RunEngineRecords): Promise<void>;
  /** After the last chunk: later revisions are above every copied one. */
  finish(handle: H): Promise<void>;
}

/** One row of a `snapshots` chunk. */
export type SnapshotRecord = Extract<RunEngineRecords, { kind: 'snapshots' }>['rows'][number];

/**
 * The `snapshots` chunks of stored buckets (`[destination, data]`, in the order read): each
 * bucket's members as rows, at most `chunkSize` rows a chunk. Both stores keep snapshots in
 * buckets (`snapshot-buckets.ts`).
 */
export async function* snapshotRecordsOfBuckets(
  buckets: AsyncIterable<readonly [destination: string, data: Buffer]>,
  chunkSize: number,
): AsyncGenerator<RunEngineRecords> {
  let rows: SnapshotRecord[] = [];
  for await (const [destination, data] of buckets) {
    const members = decodeSnapshotBucket(data);
    for (let index = 0; index < members.keys.length; index++) {
      rows.push({
        destination,
        emailKey: members.keys[index] as string,
        fingerprint: joinFingerprint(members.hi[index] as number, members.lo[index] as number),
        confirmedRun: members.runs[index] as number,
      });
      if (rows.length === chunkSize) {
        yield { kind: 'snapshots', rows };
        rows = [];
      }
    }
  }
  if (rows.length > 0) yield { kind: 'snapshots', rows };
}

/**
 * Adds `rows` to the changes collected per destination (`pending`): a store writes them at
 * `finish`, each bucket once, however the rows were chunked.
 */
export function collectSnapshotRecords(
  pending: Map<string, SnapshotBucketChanges>,
  rows: readonly SnapshotRecord[],
): void {
  for (const row of rows) {
    let changes = pending.get(row.destination);
    if (changes === undefined) {
      changes = new SnapshotBucketChanges(row.destination);
      pending.set(row.destination, changes);
    }
    const [hi, lo] = splitFingerprint(row.fingerprint);
    changes.put(row.emailKey, hi, lo, row.confirmedRun);
  }
}
