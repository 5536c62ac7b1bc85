import type { ConnectionSecretName } from './secret-store';

/**
 * The control plane's records as `exportctl state migrate` moves them between states of any
 * backends: what a state holds apart from its locks (a lock belongs to a process of the source)
 * and its lineage, serial and key check (the target keeps its own). Times are epoch ms.
 */
export interface TransferredResource {
  readonly kind: string;
  readonly name: string;
  readonly owner: string;
  readonly ownerStack: string | null;
  /** Canonical JSON text, as stored. */
  readonly spec: string;
  readonly specHash: string;
  readonly generation: number;
  readonly conditions: string;
  readonly remoteFacts: string | null;
  readonly remoteFactsReadAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A stored secret, decrypted with the source's key: re-encrypted with the target's when written. */
export interface TransferredSecret {
  readonly connection: string;
  readonly name: ConnectionSecretName;
  readonly value: string;
  readonly updatedAt: number;
}

/** A connection's rotated tokens: `secrets` is the decrypted JSON object, re-encrypted when written. */
export interface TransferredTokens {
  readonly connection: string;
  readonly secrets: string;
  /** A plain hash of the bootstrap token (not keyed), so it is copied as it is. */
  readonly bootstrapFingerprint: string;
  readonly updatedAt: number;
  readonly savedAt: number;
}

/** A run of the history, with its id (the run engine's records refer to it). */
export interface TransferredRun {
  readonly id: number;
  readonly destination: string;
  readonly trigger: string;
  readonly actor: string | null;
  readonly status: string;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly gitCommit: string | null;
  readonly record: string;
}

/** One chunk of a control plane's records, of one kind. */
export type ControlPlaneRecords =
  | { readonly kind: 'resources'; readonly rows: readonly TransferredResource[] }
  | { readonly kind: 'secrets'; readonly rows: readonly TransferredSecret[] }
  | { readonly kind: 'tokens'; readonly rows: readonly TransferredTokens[] }
  | { readonly kind: 'runs'; readonly rows: readonly TransferredRun[] };

/** How many records of each kind a control plane holds. */
export interface ControlPlaneContents {
  readonly resources: number;
  readonly secrets: number;
  readonly tokens: number;
  readonly runs: number;
  /** Runs whose status is `running` or `paused`: not finished. */
  readonly unfinishedRuns: readonly {
    readonly id: number;
    readonly destination: string;
    readonly status: string;
  }[];
}

/**
 * The control plane's half of a state copy, on one backend. `H` is the backend's handle on one
 * transaction (the SQLite database inside BEGIN, a PostgreSQL client inside BEGIN): the wiring
 * opens it with {@link reading} or {@link writing} and hands the same one to the run engine's
 * half, so both halves read one moment of the source and write the target all or nothing.
 */
export interface ControlPlaneTransfer<H> {
  /** Runs `work` in a read-only transaction that sees one moment of the state. */
  reading<T>(work: (handle: H) => Promise<T>): Promise<T>;
  /** Runs `work` in one write transaction: committed when it resolves, rolled back when it throws. */
  writing<T>(work: (handle: H) => Promise<T>): Promise<T>;
  contents(handle: H): Promise<ControlPlaneContents>;
  /** Every record, in chunks of at most `chunkSize` rows, secrets decrypted (needs the key if any). */
  read(handle: H, chunkSize: number): AsyncIterable<ControlPlaneRecords>;
  /** Deletes every record (for `--force`); locks, lineage and the key check stay. */
  clear(handle: H): Promise<void>;
  /** Writes one chunk; secrets and tokens are encrypted with this state's key. */
  write(handle: H, records: ControlPlaneRecords): Promise<void>;
  /** After the last chunk: id sequences continue after the copied runs, and the serial moves. */
  finish(handle: H): Promise<void>;
}
