import type { ProfileSourceSpec } from '../config';
import { type RowSource, sourceFingerprint } from './adapters/source-adapters';
import { type RowRoutes, rowRoutes } from './row-routes';
import { SharedBatches, type SharedBatchesOptions } from './shared-batches';
import type { SourceRowFilter, SourceRowOptions } from './source-adapter';
import { batchRows, type SourceRecordBatch } from './source-record';
import { ownSourceRowsProvider, type SourceRowProvider } from './source-row-provider';
import { checkSourceReadsWhole } from './source-rows';

/** A member's provider: its reads of the source, and `leave()` when it will read no more. */
export interface SharedSourceRowProvider extends SourceRowProvider {
  /**
   * This member reads nothing more (it is done, failed, or never needed the source: a resumed
   * run, a skipped unchanged one). Idempotent; detaches it from any read it is in.
   */
  leave(): void;
}

export interface SharedSourceReadOptions extends SharedBatchesOptions {
  /** Where the one read of each request comes from; default the files themselves. */
  readonly rows?: SourceRowProvider;
}

interface Channel {
  /** Which of a member's reads this is: 0 for its first (membership), 1 for its second (profiles). */
  readonly slot: number;
  readonly batches: SharedBatches<RoutedBatch>;
  /** The members that joined, in the order they did: what the rows are routed by. */
  readonly readers: Reader[];
}

/** A member in a channel: its own filter, and whether it still reads. */
interface Reader {
  readonly filter: SourceRowFilter | undefined;
  attached: boolean;
}

/**
 * A batch of the one read: its rows, and (when they are routed) each reader's share of them by the
 * reader's index in the channel. Unrouted, every reader takes every row.
 */
interface RoutedBatch {
  readonly rows: SourceRecordBatch;
  readonly routed: readonly SourceRecordBatch[] | undefined;
}

/**
 * One read of a source for a group of members (the destinations of one source in one `run --all`):
 * each part the members ask for with the same arguments (the same file or relation, fields and
 * options) is read and parsed once and its batches handed to every member that asked, in order
 * (`SharedBatches`: a bounded read-ahead, the slowest member sets the pace, a member that stops
 * detaches). Members that ask with other arguments (another mapping of the profile fields) get a
 * read of their own for that part, still shared with those that ask as they do: a member sees
 * exactly the batches and failures a read of its own would give (see `SourceRowProvider`), which
 * is what keeps each destination's result the one it gets alone.
 *
 * Each row is looked at once for all the members (`rowRoutes`): a member is handed only the rows its
 * own pass would not ignore (its segments' rows, the rows of its selected keys, what it reports),
 * and told how many were routed away (`SourceRecordBatch`), so that its work is in proportion to its
 * rows, not to the whole source, and its result and counts are still those of a read of its own.
 *
 * Members read their parts in the same order (`readContacts`: membership, then profiles), so the
 * n-th read of each member is the same part: the n-th read begins once every member that has not
 * left has asked for its n-th read (or left). A member that will not read (or no more) must
 * `leave()`, or the others wait for it.
 */
export class SharedSourceRead {
  private readonly live: Set<string>;
  private readonly reads = new Map<string, number>();
  private readonly channels = new Map<string, Channel>();
  private readonly fingerprints = new Map<string, Promise<string>>();
  private readonly checks = new Map<string, Promise<boolean>>();
  private readonly rows: SourceRowProvider;

  constructor(
    members: Iterable<string>,
    private readonly options: SharedSourceReadOptions = {},
  ) {
    this.live = new Set(members);
    this.rows = options.rows ?? ownSourceRowsProvider;
  }

  /** Whether a read has begun: a member added now would read on its own (see `add`). */
  get hasStarted(): boolean {
    for (const channel of this.channels.values()) if (channel.batches.hasStarted) return true;
    return false;
  }

  /** Whether every member has left (the read is over, or never began). */
  get isOver(): boolean {
    return this.live.size === 0;
  }

  /**
   * Adds a member after the read was created (watch mode: runs that start one after the other),
   * and returns its provider. The others wait for it as for the first ones; once a read has
   * begun, a new member could not see it whole, so it reads on its own (`hasStarted`).
   */
  add(member: string): SharedSourceRowProvider {
    if (!this.hasStarted) this.live.add(member);
    return this.provider(member);
  }

  /** The provider of `member` (one of the members given). */
  member(member: string): SharedSourceRowProvider {
    if (!this.live.has(member)) throw new Error(`SharedSourceRead: ${member} is not a member of this read`);
    return this.provider(member);
  }

  private provider(member: string): SharedSourceRowProvider {
    return {
      rowBatches: (source, fields, options) => this.join(member, source, fields, options),
      fingerprint: (spec, baseDir) => this.fingerprint(member, spec, baseDir),
      checkReadsWhole: (source, fields, options) => this.checkReadsWhole(member, source, fields, options),
      leave: () => this.leave(member),
    };
  }

  private join(
    member: string,
    source: RowSource,
    fields: readonly string[],
    options: SourceRowOptions,
  ): AsyncIterable<SourceRecordBatch> {
    // One who left reads alone (it is not waited for, and must not wait for the others).
    if (!this.live.has(member)) return this.rows.rowBatches(source, fields, options);
    const slot = this.reads.get(member) ?? 0;
    this.reads.set(member, slot + 1);
    const key = JSON.stringify([slot, source, fields, options.multiLineFields ?? []]);
    let channel = this.channels.get(key);
    if (channel === undefined) channel = this.openChannel(key, slot, source, fields, options);
    // Begun without it (it could not be waited for): a read of its own rather than miss rows.
    else if (channel.batches.hasStarted) return this.rows.rowBatches(source, fields, options);
    const reader: Reader = { filter: options.only, attached: true };
    const index = channel.readers.push(reader) - 1;
    const consumer = readerView(channel.batches.consumer(), index, () => {
      reader.attached = false;
    });
    this.startReady();
    return consumer;
  }

  private openChannel(
    key: string,
    slot: number,
    source: RowSource,
    fields: readonly string[],
    options: SourceRowOptions,
  ): Channel {
    const readers: Reader[] = [];
    const batches = new SharedBatches<RoutedBatch>(
      // One read serves members of different segments: every row, no member's filter; each member
      // is handed its own rows (routed by the filters of those that joined, opened once they all did).
      () =>
        routedBatches(this.rows.rowBatches(source, fields, withoutFilter(options)), () =>
          readerRoutes(fields, readers),
        ),
      this.options.maxBuffered === undefined ? {} : { maxBuffered: this.options.maxBuffered },
    );
    const channel = { slot, batches, readers };
    this.channels.set(key, channel);
    return channel;
  }

  /**
   * The source's fingerprint, hashed once for the members of this read (their marks then name the
   * data the one read gives them). One who reads alone (it left, or came after the read began)
   * hashes on its own: the files may have changed since.
   */
  private fingerprint(member: string, spec: ProfileSourceSpec, baseDir: string): Promise<string> {
    const own = () => this.rows.fingerprint?.(spec, baseDir) ?? sourceFingerprint(spec, baseDir);
    if (!this.live.has(member)) return own();
    const key = JSON.stringify([spec, baseDir]);
    let fingerprint = this.fingerprints.get(key);
    if (fingerprint === undefined) {
      fingerprint = own();
      this.fingerprints.set(key, fingerprint);
    }
    return fingerprint;
  }

  /**
   * Whether the part reads whole, checked once for the members that read it with these arguments
   * (their one read is the same read). One who reads alone checks on its own.
   */
  private checkReadsWhole(
    member: string,
    source: RowSource,
    fields: readonly string[],
    options: SourceRowOptions,
  ): Promise<boolean> {
    const checkWith = (asked: SourceRowOptions) =>
      this.rows.checkReadsWhole?.(source, fields, asked) ?? checkSourceReadsWhole(source, fields, asked);
    if (!this.live.has(member)) return checkWith(options);
    const key = JSON.stringify([source, fields, options.multiLineFields ?? []]);
    let check = this.checks.get(key);
    if (check === undefined) {
      check = checkWith(withoutFilter(options));
      // Settled for every member that asks; one that no longer waits must not crash the process.
      check.catch(() => undefined);
      this.checks.set(key, check);
    }
    return check;
  }

  private leave(member: string): void {
    if (!this.live.delete(member)) return;
    this.reads.delete(member);
    this.startReady();
  }

  /** Starts the reads every live member has asked for its part of (or passed). */
  private startReady(): void {
    for (const [key, channel] of this.channels) {
      if (channel.batches.hasStarted) {
        if (channel.batches.consumers === 0) this.channels.delete(key);
        continue;
      }
      let ready = true;
      for (const member of this.live) if ((this.reads.get(member) ?? 0) <= channel.slot) ready = false;
      if (ready) channel.batches.start();
    }
  }
}

/** What one read for several members is asked with: no member's filter, nor its stop signal. */
function withoutFilter(options: SourceRowOptions): SourceRowOptions {
  const { only: _only, signal: _signal, ...rest } = options;
  return rest;
}

/**
 * The routes of the readers still attached, by reader index (a detached one is routed nothing), or
 * undefined when fewer than two read (one alone takes every row, as it would reading on its own)
 * or their filters do not route (see `rowRoutes`).
 */
function readerRoutes(fields: readonly string[], readers: readonly Reader[]): RowRoutes | undefined {
  const attached = readers.filter((reader) => reader.attached);
  if (attached.length < 2) return undefined;
  const routes = rowRoutes(
    fields,
    attached.map((reader) => reader.filter),
  );
  if (routes === undefined) return undefined;
  // Each reader's share: its place among those routed, or -1 (it left before the read began).
  const shareAt = readers.map((reader) => attached.indexOf(reader));
  return {
    split(batch) {
      const shares = routes.split(batch);
      const none: SourceRecordBatch = Object.assign([], { routedAway: batchRows(batch) });
      return shareAt.map((at) => shares[at] ?? none);
    },
  };
}

/**
 * `batches` with each split by the routes `routesFor` gives as the read opens (once every reader
 * has joined). The routes (a profile read's: a union of the selections) are let go when it ends.
 */
async function* routedBatches(
  batches: AsyncIterable<SourceRecordBatch>,
  routesFor: () => RowRoutes | undefined,
): AsyncGenerator<RoutedBatch> {
  let routes = routesFor();
  try {
    for await (const rows of batches) yield { rows, routed: routes?.split(rows) };
  } finally {
    routes = undefined;
  }
}

/**
 * Reader `index`'s view of a channel's batches: its share of each (every row when unrouted).
 * `return()` reaches the shared consumer at once (it detaches, even before a first batch, which an
 * async generator would not pass on), and `onDetach` is told.
 */
function readerView(
  consumer: AsyncIterator<RoutedBatch>,
  index: number,
  onDetach: () => void,
): AsyncIterator<SourceRecordBatch> & AsyncIterable<SourceRecordBatch> {
  const view: AsyncIterator<SourceRecordBatch> & AsyncIterable<SourceRecordBatch> = {
    next: async () => {
      const result = await consumer.next();
      if (result.done) return { done: true, value: undefined };
      return { done: false, value: result.value.routed?.[index] ?? result.value.rows };
    },
    return: async () => {
      onDetach();
      await consumer.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]: () => view,
  };
  return view;
}
