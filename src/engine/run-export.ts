import { dirname } from 'node:path';
import type { ConnectionSpec, ExportDestinationSpec, ProfileSourceSpec } from '../config';
import {
  type Clock,
  ConstantContactClient,
  type ConstantContactClientOptions,
  type ImportBatchLimits,
  importBatchLimits,
  type OnApiRequest,
  QuotaExceededError,
  systemClock,
} from '../constant-contact';
import { ExportctlError } from '../errors';
import {
  locatedSourceSpec,
  recordedCustomFieldTypes,
  recordedSourceFolder,
  type SourceRowProvider,
  sentFieldNames,
  sourceFingerprint,
  sourceOriginFile,
} from '../profiles';
import { defaultPipelinePolling, type PipelineOutcome, type PipelinePolling } from './activity-pipeline';
import { countRequestsAs } from './api-call-tally';
import { checkListMembership } from './check-list-membership';
import { type EmailHash, fnv1a32 } from './contact-index';
import {
  type AppliedResourceView,
  destinationLockName,
  type HeldLock,
  type LockHolderRecord,
  type RunEngineState,
  type RunRecord,
  type RunTrigger,
  type StaleHolderTakenOver,
} from './control-plane';
import {
  type DataPlan,
  emptyDataPlan,
  estimateLookupCalls,
  estimateRunRequests,
  exportLookupThreshold,
} from './data-plan';
import { ExportRunSession, type OnRunProgress } from './export-run-session';
import { cutImportBatches, planImportBatches } from './plan-import-batches';
import { readAndPlan } from './read-and-plan';
import { RemovalGuardError, RunEngineError } from './run-engine-errors';
import {
  type ExportRunRecord,
  exportRunRecord,
  newRunRecord,
  runImportTotals,
  runRecordJson,
} from './run-record';
import type { Checkpoint, ImportBatchCheckpoint, PlannedImportBatch, RunStore } from './run-store';
import { sendImports } from './send-imports';
import { maxRemovalIdsPerCall, sendRemovals } from './send-removals';
import { sourceGitCommit } from './source-git-commit';

/**
 * The engine's version in a run's unchanged mark: a run of another version never skips on a mark of
 * this one. Change it when what a run sends for the same source and specs changes.
 */
export const runEngineVersion = 'run-engine-compact-snapshots-1';

/** The most distinct contacts one destination exports in a run. */
export const maxContactsPerDestination = 1_000_000;

/** Knobs of the engine that users do not set; tests shrink them. */
export interface RunEngineTuning {
  /** Distinct contacts above which a run fails before sending; default 1,000,000. */
  readonly contactLimit: number;
  /** Bounds of one import call; default Constant Contact's (40,000 contacts, under 4,000,000 bytes). */
  readonly importBatchLimits: ImportBatchLimits;
  /**
   * Import or removal activities in flight at once; default 32: a 1,000,000-contact export's 25
   * imports can all be queued at the rate limit instead of waiting for earlier ones to finish
   * (Constant Contact queues up to 1,000 per account).
   */
  readonly maxActivitiesInFlight: number;
  /** Sends of one batch before the run fails; default 5. */
  readonly maxSubmissions: number;
  readonly polling: PipelinePolling;
  /** Passed to the Constant Contact client (retry policy, timeouts, rate limiter registry...). */
  readonly client: Partial<
    Pick<
      ConstantContactClientOptions,
      | 'retryPolicy'
      | 'timeouts'
      | 'activityPolling'
      | 'rateLimiters'
      | 'random'
      | 'logger'
      | 'tokenExpiryMarginMs'
    >
  >;
  /**
   * The hash the run's contact index finds emails by (default FNV-1a, 32 bits); every match is
   * confirmed on the email, so tests inject a weak one to make emails collide.
   */
  readonly emailHash: EmailHash;
  /**
   * Send the batches while the source is still read when nothing read later can stop the run
   * (`readAndPlan`'s `sendWhileReading`); default true. Tests turn it off to stop a run between the
   * end of its read and its last batch.
   */
  readonly sendWhileReading: boolean;
}

const defaultTuning = {
  contactLimit: maxContactsPerDestination,
  importBatchLimits,
  maxActivitiesInFlight: 32,
  maxSubmissions: 5,
  polling: defaultPipelinePolling,
  client: {},
  emailHash: fnv1a32,
  sendWhileReading: true,
} satisfies RunEngineTuning;

export interface RunExportOptions {
  /** The state the run works with, built by the wiring (`runEngineStateFor`). */
  readonly store: RunEngineState;
  /** The ExportDestination's name (applied). */
  readonly destination: string;
  /** What started the run; default `manual`. */
  readonly trigger?: RunTrigger;
  /** Who asked for it, for the run record and the lock. */
  readonly actor?: string | undefined;
  /** Plan only: reads and diffs locally, sends nothing (not even a GET), changes no snapshot. */
  readonly dryRun?: boolean;
  /** Send every selected contact, not only new and changed ones. Ignored when a run is resumed. */
  readonly full?: boolean;
  /**
   * Stops the run between batches: no new request is sent, the activities in flight are waited for
   * and confirmed, and the run is left `paused` for the next run to resume. Before anything was
   * planned, the run ends `aborted` instead (nothing was sent).
   */
  readonly signal?: AbortSignal | undefined;
  /** Time and sleeping for the client and the pipeline; default the system clock. */
  readonly clock?: Clock;
  readonly onProgress?: OnRunProgress | undefined;
  /** Receives every Constant Contact request event (metrics). */
  readonly onRequest?: OnApiRequest | undefined;
  /** How long to wait for a run of the same destination in another process (ms); default 0. */
  readonly lockTimeoutMs?: number;
  /** Called when the destination's lock is held, before waiting `lockTimeoutMs` for it. */
  readonly onLockWait?: ((holder: LockHolderRecord) => void) | undefined;
  /** Read for git (the source's commit); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly tuning?: Partial<RunEngineTuning>;
  /**
   * Where a fresh run reads its source's rows (see `readContacts`); default a read of its own. The
   * destinations of one source in one `run --all` share a read this way (`runExportGroup`).
   */
  readonly sourceRows?: SourceRowProvider | undefined;
}

/** How a run ended in this process. */
export interface ExportRunResult {
  /** The run as the history now holds it (finished, or `paused`). */
  readonly run: RunRecord;
  readonly record: ExportRunRecord;
  /** This call took up an unfinished run instead of starting one. */
  readonly resumed: boolean;
  /** Set when the run failed, aborted or paused: why (an ExportctlError: code, message, hint). */
  readonly error: ExportctlError | undefined;
  /** Set when the destination's lock was taken over from a holder that was gone. */
  readonly tookOverLock: StaleHolderTakenOver | undefined;
}

/**
 * Runs one export of an applied destination: read the source, select, map, validate, dedupe, enforce
 * the contact limit, diff against the last confirmed snapshot, import the new and changed contacts
 * in checkpointed batches, remove those that left (`remove-from-list`, within `maxRemovalPercent`),
 * and record the run. Holds the destination's lock throughout, so runs of one destination never
 * overlap; runs of other destinations may run at the same time (in this process or others), sharing
 * each API key's rate limiter.
 *
 * An unfinished run of the destination (its process died, or it paused for the daily quota or a
 * signal) is resumed from its checkpoint instead of starting a new one: the batches it planned are
 * sent as planned, those it had not planned yet (it sends the first batches while later ones are
 * still being planned) are planned from its staged contacts, none confirmed is sent again, and at
 * most the one batch whose request was in the air when it stopped can be imported twice.
 *
 * Resolves with the run once it has ended (`succeeded`, `failed`, `aborted`) or paused (`paused`: the
 * daily quota, with its reset time, or the signal); a failure of the run itself is in `error` and in
 * the record, not thrown. Rejects only when no run could be recorded: the destination (or its
 * source or connection) is not applied (`destination-not-applied`), or the lock stayed held
 * (`lock-timeout`, naming the holder).
 */
export async function runExport(options: RunExportOptions): Promise<ExportRunResult> {
  const store = options.store;
  const applied = await loadDestination(store, options.destination);
  const lock = await acquireLock(store, options);
  try {
    const context = new RunContext(store, applied, lock, options);
    return await context.run();
  } finally {
    await lock.release();
  }
}

interface AppliedDestination {
  readonly name: string;
  readonly resource: AppliedResourceView;
  /** The ProfileSource's generation. */
  readonly sourceGeneration: number;
  readonly spec: ExportDestinationSpec;
  readonly source: ProfileSourceSpec;
  readonly connection: ConnectionSpec;
}

async function loadDestination(store: RunEngineState, name: string): Promise<AppliedDestination> {
  const notApplied = (what: string) =>
    new RunEngineError('destination-not-applied', `${what} is not applied in ${store.location}`, {
      context: { destination: name },
      hint: 'apply the manifests first (exportctl apply PATH); exportctl status lists what is applied',
    });
  const resource = await store.resources.get('ExportDestination', name);
  if (!resource) throw notApplied(`ExportDestination/${name}`);
  const spec = resource.spec as unknown as ExportDestinationSpec;
  const source = await store.resources.get('ProfileSource', spec.source);
  if (!source) throw notApplied(`ProfileSource/${spec.source} (the source of ExportDestination/${name})`);
  const connection = await store.resources.get('Connection', spec.connection);
  if (!connection)
    throw notApplied(`Connection/${spec.connection} (the connection of ExportDestination/${name})`);
  return {
    name,
    resource,
    sourceGeneration: source.generation,
    spec,
    // Paths as written, made absolute against the folder the last apply found the files in.
    source: await withSourceSecrets(
      store,
      source.name,
      locatedSourceSpec(
        source.spec as unknown as ProfileSourceSpec,
        recordedSourceFolder(source.remoteFacts?.facts),
        source.name,
      ),
    ),
    connection: connection.spec as unknown as ConnectionSpec,
  };
}

/** The source's spec with the secrets the state keeps for it (a database URL), if it keeps any. */
function withSourceSecrets(
  store: RunEngineState,
  name: string,
  spec: ProfileSourceSpec,
): Promise<ProfileSourceSpec> {
  return store.sourceWithSecrets?.(name, spec) ?? Promise.resolve(spec);
}

async function acquireLock(store: RunEngineState, options: RunExportOptions): Promise<HeldLock> {
  const name = destinationLockName(options.destination);
  const holder = {
    identity: options.actor ?? 'exportctl',
    command: `run ${options.destination}${options.dryRun ? ' --dry-run' : ''}`,
  };
  try {
    return await store.locks.acquire(name, holder, { timeoutMs: 0 });
  } catch (error) {
    const timeoutMs = options.lockTimeoutMs ?? 0;
    if (!(error instanceof ExportctlError && error.code === 'lock-timeout') || timeoutMs <= 0) throw error;
    const current = await store.locks.holder(name);
    if (current) options.onLockWait?.(current);
    return store.locks.acquire(name, holder, { timeoutMs });
  }
}

/** One call of `runExport`, holding the destination's lock. */
class RunContext {
  private readonly runStore: RunStore;
  private readonly clock: Clock;
  private readonly tuning: RunEngineTuning;
  private readonly trigger: RunTrigger;

  constructor(
    private readonly store: RunEngineState,
    private readonly destination: AppliedDestination,
    private readonly lock: HeldLock,
    private readonly options: RunExportOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.runStore = store.runStore;
    this.tuning = { ...defaultTuning, ...options.tuning };
    this.trigger = options.trigger ?? 'manual';
  }

  async run(): Promise<ExportRunResult> {
    const checkpoint = await this.resumableCheckpoint();
    if (this.options.dryRun) return this.dryRun(checkpoint);
    if (checkpoint) return this.resume(checkpoint);
    return this.fresh();
  }

  /**
   * The destination's checkpoint if its run can be taken up. Cleans up what a crash left behind
   * (except in a dry run, which changes nothing): a checkpoint whose run had already ended, a run
   * that died while planning (nothing was sent; its staging died with it), runs that died before
   * they had a checkpoint.
   */
  private async resumableCheckpoint(): Promise<Checkpoint | undefined> {
    const name = this.destination.name;
    let checkpoint = await this.runStore.checkpoints.of(name);
    if (checkpoint) {
      const run = await this.store.runs.get(checkpoint.runId);
      // A run still reading is taken up only if it sent batches while it read, in this read or an
      // earlier one (`readAgain`).
      const usable =
        run !== undefined &&
        run.finishedAt === undefined &&
        (checkpoint.phase !== 'planning' ||
          exportRunRecord(run)?.earlierReads != null ||
          (await this.sentWhileReading(checkpoint.runId)));
      if (!usable) {
        if (this.options.dryRun) return undefined;
        await this.runStore.checkpoints.delete(checkpoint.runId);
        checkpoint = undefined;
      }
    }
    if (!this.options.dryRun) {
      for (const run of await this.store.runs.list({ destination: name, limit: 20 })) {
        if (run.finishedAt !== undefined || run.id === checkpoint?.runId) continue;
        const record = exportRunRecord(run);
        await this.store.runs.finish(run.id, {
          status: 'failed',
          ...(record
            ? {
                record: {
                  ...run.record,
                  error: {
                    code: 'run-interrupted',
                    message: `run ${run.id} stopped (its process ended) before it had planned its batches; nothing was sent, and a new run starts over`,
                    hint: null,
                  },
                },
              }
            : {}),
        });
      }
    }
    return checkpoint;
  }

  private newSession(run: RunRecord, record: ExportRunRecord): ExportRunSession {
    return new ExportRunSession(run, record, {
      runs: this.store.runs,
      runStore: this.runStore,
      clock: this.clock,
      onProgress: this.options.onProgress,
    });
  }

  /** The destination as a run record states it (with the list the run exports into). */
  private recordedDestination(listId: string): Parameters<typeof newRunRecord>[0] {
    const { resource, spec } = this.destination;
    return {
      generation: resource.generation,
      connection: spec.connection,
      source: spec.source,
      listId,
      segments: spec.segments,
      removal: spec.removal,
      maxRemovalPercent: spec.maxRemovalPercent,
      mappedFields: sentFieldNames(spec.dataMatching),
    };
  }

  /**
   * What read and plan need; a dry run has no list count nor client (it sends nothing, not even a
   * GET), so its removal guard counts the last snapshot.
   */
  private async planInput(
    session: ExportRunSession,
    dryRun: boolean,
    list: { readonly members: number | undefined; readonly client: ConstantContactClient } | undefined,
  ): Promise<Parameters<typeof readAndPlan>[0]> {
    const listId = this.destination.spec.listId;
    const previous = await this.lastSucceeded(session.runId);
    return {
      previousMappedFields: previous?.destination.mappedFields,
      session,
      source: this.destination.source,
      spec: this.destination.spec,
      customFieldTypes: recordedCustomFieldTypes(this.destination.resource.remoteFacts?.facts),
      full: this.options.full ?? false,
      dryRun,
      listMembers: list?.members,
      readListMembers:
        list === undefined
          ? undefined
          : () =>
              list.client.emailsToContactIds(
                listId,
                (list.members ?? 0) > exportLookupThreshold ? 'export' : 'paging',
              ),
      requestsPerSecond: this.destination.connection.limits.requestsPerSecond,
      contactLimit: this.tuning.contactLimit,
      importBatchLimits: this.tuning.importBatchLimits,
      signal: this.options.signal,
      emailHash: this.tuning.emailHash,
      // A dry run reads alone: it is not grouped (and reads as a real run would, all the same).
      sourceRows: dryRun ? undefined : this.options.sourceRows,
    };
  }

  private async startRun(dryRun: boolean): Promise<ExportRunSession> {
    const { name } = this.destination;
    const record = newRunRecord(this.recordedDestination(this.destination.spec.listId), {
      dryRun,
      full: this.options.full ?? false,
    });
    const gitCommit = await sourceGitCommit(this.destination.source, this.options.env);
    const run = await this.store.runs.start({
      destination: name,
      trigger: this.trigger,
      actor: this.options.actor,
      gitCommit,
      record: runRecordJson(record),
    });
    return this.newSession(run, record);
  }

  private async fresh(): Promise<ExportRunResult> {
    const session = await this.startRun(false);
    const { name, spec } = this.destination;
    await this.runStore.checkpoints.create(session.runId, name, spec.listId);
    let planned = false;
    try {
      const client = await this.createClient(session);
      session.enter('preflight');
      const list = await client.getList(spec.listId);
      session.update({ listMembersAtStart: list.membership_count ?? null });
      if (list.membership_count !== undefined) {
        const listCheck = await checkListMembership({
          client,
          runStore: this.runStore,
          destination: name,
          listId: spec.listId,
          found: list.membership_count,
        });
        session.update({ listCheck });
      }
      const mark = await this.unchangedMark();
      if (
        mark !== undefined &&
        session.record.listCheck?.exported === false &&
        session.record.listCheck.expected === session.record.listCheck.found &&
        (await this.runStore.unchangedMarks.matches(name, mark))
      ) {
        return await this.unchanged(session, client);
      }
      // Unknown until this run succeeds: one that does not leaves the next to look at the list.
      await this.runStore.listBaselines.drop(name);
      await this.runStore.unchangedMarks.drop(name);
      session.update({ unchangedMark: mark ?? null });
      planned = true;
      return await this.readAndSend(session, client, list.membership_count, false);
    } catch (error) {
      return this.ended(session, error, planned);
    }
  }

  /**
   * Reads and plans (`readAndPlan`), then sends. When nothing read later can stop the run, its
   * batches leave as they are cut, while the read goes on (`sendWhileReading`); a read that fails
   * after some left has those in flight settled first, then pauses (stopped) or ends as a run that
   * sent: its confirmed batches join the snapshot, those in the air are kept unconfirmed.
   */
  private async readAndSend(
    session: ExportRunSession,
    client: ConstantContactClient,
    listMembers: number | undefined,
    resumed: boolean,
  ): Promise<ExportRunResult> {
    const listId = await this.checkpointListId();
    // Stops the read when the sends under way fail, and the sends when the read fails, as the
    // run's own signal stops both.
    const stop = new AbortController();
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, stop.signal]) : stop.signal;
    let sending: Promise<PipelineOutcome<ImportBatchCheckpoint>> | undefined;
    let sendFailure: { readonly error: unknown } | undefined;
    let batches: AsyncIterable<PlannedImportBatch>;
    try {
      ({ batches } = await readAndPlan({
        ...(await this.planInput(session, false, { members: listMembers, client })),
        signal,
        sendWhileReading: !this.tuning.sendWhileReading
          ? undefined
          : (cut) => {
              // Its requests count as the import phase's, though the run is still reading.
              sending = countRequestsAs('import', () =>
                this.sendBatches(session, client, listId, cut, signal),
              );
              sending.catch((error: unknown) => {
                sendFailure ??= { error };
                stop.abort();
              });
            },
      }));
    } catch (error) {
      // Nothing sent by this read. A run whose earlier reads sent is one that sent (it pauses on a
      // stop and is taken up again; their batches are in the snapshot already); else it ends as a
      // run that sent nothing.
      if (sending === undefined) {
        const sentBefore = session.record.earlierReads != null;
        if (sentBefore && this.stopped) return this.paused(session, 'stopped', undefined, resumed);
        return this.ended(session, error, sentBefore, resumed);
      }
      stop.abort();
      await sending.catch(() => undefined);
      // What stopped the run: the sends' failure (the read only stopped for it), else the read's.
      const failure = sendFailure === undefined ? error : sendFailure.error;
      const sent =
        session.record.earlierReads != null || (await this.sentWhileReading(session.runId).catch(() => true));
      if (sent && this.stopped) return this.paused(session, 'stopped', undefined, resumed);
      return this.ended(session, failure, sent, resumed);
    }
    return this.send(
      session,
      client,
      resumed,
      sending ?? this.sendBatches(session, client, listId, batches, signal),
    );
  }

  /** The import phase's pipeline for `cut` (undefined: the staged contacts no batch holds yet). */
  private sendBatches(
    session: ExportRunSession,
    client: ConstantContactClient,
    listId: string,
    cut: AsyncIterable<PlannedImportBatch> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<PipelineOutcome<ImportBatchCheckpoint>> {
    const planning = planImportBatches({
      imports: this.runStore.imports,
      runId: session.runId,
      batches: cut,
      listId,
      limits: this.tuning.importBatchLimits,
    });
    return sendImports({ ...this.pipelineInput(session, client, listId, signal), planning });
  }

  private pipelineInput(
    session: ExportRunSession,
    client: ConstantContactClient,
    listId: string,
    signal: AbortSignal | undefined,
  ) {
    return {
      session,
      client,
      clock: this.clock,
      lock: this.lock,
      listId,
      maxInFlight: this.tuning.maxActivitiesInFlight,
      maxSubmissions: this.tuning.maxSubmissions,
      polling: this.tuning.polling,
      signal,
    };
  }

  /** The list the run's checkpoint exports into (the spec's, when it has none). */
  private async checkpointListId(): Promise<string> {
    return (
      (await this.runStore.checkpoints.of(this.destination.name))?.listId ?? this.destination.spec.listId
    );
  }

  /** Some import batch of the run was sent (or may have been): it is not a run that sent nothing. */
  private async sentWhileReading(runId: number): Promise<boolean> {
    return (await this.runStore.imports.batches(runId)).some((batch) => batch.submissions > 0);
  }

  /**
   * A run taken up while it was still reading, after batches had left (`sendWhileReading`): they
   * are settled first as any resume settles them (adopted, sent again, confirmed), their contacts
   * join the snapshot with the checkpoint's end, and the run reads its source again from the start
   * under a new checkpoint, against that snapshot: it sends only what is still missing. A staging
   * is final only once planned, so nothing else of the first read is kept (its row issues neither:
   * the new read finds them again). The record keeps what the earlier reads imported
   * (`earlierReads`), and it is saved only once the new checkpoint exists: interrupted before, the
   * next run settles nothing new and counts the same again.
   */
  private async readAgain(
    session: ExportRunSession,
    client: ConstantContactClient,
    checkpoint: Checkpoint,
  ): Promise<ExportRunResult> {
    const { runId } = session;
    session.enter('import');
    const settled = await sendImports(
      this.pipelineInput(session, client, checkpoint.listId, this.options.signal),
    );
    if (settled.stopped) return this.paused(session, 'stopped', undefined, true);
    const totals = await this.runStore.imports.totals(runId);
    const earlier = session.record.earlierReads;
    const earlierReads = {
      reads: (earlier?.reads ?? 0) + 1,
      imported: (earlier?.imported ?? 0) + totals.imported,
      unsubscribed: (earlier?.unsubscribed ?? 0) + totals.unsubscribed,
      rejected: (earlier?.rejected ?? 0) + totals.rejected,
      batches: (earlier?.batches ?? 0) + totals.batches,
      confirmedBatches: (earlier?.confirmedBatches ?? 0) + totals.confirmedBatches,
    };
    await this.runStore.checkpoints.delete(runId);
    await this.runStore.checkpoints.create(runId, this.destination.name, checkpoint.listId);
    await session.restartRead();
    session.update({
      earlierReads,
      plan: null,
      // The source may have changed since the run started: the mark is of what is read now.
      unchangedMark: (await this.unchangedMark()) ?? null,
    });
    await session.save();
    session.enter('preflight');
    const list = await client.getList(checkpoint.listId);
    // What the list held before this read: the baseline's check at the end explains the count by
    // this read's adds (the earlier reads' are in it already).
    session.update({ listMembersAtStart: list.membership_count ?? null });
    return this.readAndSend(session, client, list.membership_count, true);
  }

  private async resume(checkpoint: Checkpoint): Promise<ExportRunResult> {
    const run = (await this.store.runs.get(checkpoint.runId)) as RunRecord;
    const previous =
      exportRunRecord(run) ??
      newRunRecord(this.recordedDestination(checkpoint.listId), { dryRun: false, full: false });
    const record: ExportRunRecord = {
      ...previous,
      pause: null,
      resumes: [
        ...previous.resumes,
        {
          at: new Date(this.clock.now()).toISOString(),
          trigger: this.trigger,
          actor: this.options.actor ?? null,
          from: run.status,
        },
      ],
    };
    const session = this.newSession(run, record);
    await this.store.runs.update(run.id, {
      status: 'running',
      record: runRecordJson(record),
    });
    try {
      const client = await this.createClient(session);
      if (checkpoint.phase === 'planning') return await this.readAgain(session, client, checkpoint);
      return await this.send(session, client, true);
    } catch (error) {
      return this.ended(session, error, true, true);
    }
  }

  /**
   * The import and removal phases, then the end of the run. The import batches are planned as they
   * are sent: a fresh run's `cut`, or (a resume) the staged contacts no batch holds yet.
   */
  private async send(
    session: ExportRunSession,
    client: ConstantContactClient,
    resumed: boolean,
    sending?: Promise<PipelineOutcome<ImportBatchCheckpoint>>,
  ): Promise<ExportRunResult> {
    const listId = await this.checkpointListId();
    const pipeline = this.pipelineInput(session, client, listId, this.options.signal);
    session.enter('import');
    const imports = await (sending ??
      this.sendBatches(session, client, listId, undefined, this.options.signal));
    if (imports.stopped) return this.paused(session, 'stopped', undefined, resumed);
    // Removals left to send: none when every leaver was found not to be on the list (they left the
    // snapshot when the plan looked the list up).
    const removalTotals = await this.runStore.removals.totals(session.runId);
    if (removalTotals.planned > removalTotals.removed) {
      if (this.options.signal?.aborted) return this.paused(session, 'stopped', undefined, resumed);
      session.enter('remove');
      const removals = await sendRemovals(pipeline);
      if (removals.stopped) return this.paused(session, 'stopped', undefined, resumed);
    }
    session.enter('finish');
    await this.updateTotals(session);
    await this.recordListBaseline(session, client, listId);
    const run = await session.finish('succeeded');
    await this.runStore.checkpoints.delete(session.runId);
    await this.runStore.compact();
    // After the snapshot took its contacts: the mark holds the revision they left.
    const mark = session.record.unchangedMark;
    if (mark) await this.runStore.unchangedMarks.set(this.destination.name, mark);
    return this.result(run, session, resumed, undefined);
  }

  /**
   * What this run is planned from, as a mark (see `UnchangedMarkStore`): the engine's version, the
   * destination's and the source's generations, where the source is and a hash of its content, and
   * the contact limit. Undefined with `--full` (it sends everything whatever the mark) or when the
   * source cannot be hashed (the read then says why).
   */
  private async unchangedMark(): Promise<string | undefined> {
    if (this.options.full) return undefined;
    const { resource, sourceGeneration, source, spec } = this.destination;
    const baseDir = dirname(sourceOriginFile(source) ?? '.');
    try {
      return JSON.stringify([
        runEngineVersion,
        resource.generation,
        sourceGeneration,
        spec.listId,
        this.tuning.contactLimit,
        // The adapter's content fingerprint: the same data, the same mark, wherever the files are.
        // A shared read hashes the source once for its destinations.
        await (this.options.sourceRows?.fingerprint?.(source, baseDir) ?? sourceFingerprint(source, baseDir)),
      ]);
    } catch {
      return undefined;
    }
  }

  /**
   * A run with nothing to do: the source's content, the specs and the snapshot are as the last
   * successful run left them, and the list's count is the one it recorded. Recorded `succeeded`,
   * `skipped: unchanged`, with the last run's contacts, all unchanged; nothing read, nothing sent.
   */
  private async unchanged(
    session: ExportRunSession,
    client: ConstantContactClient,
  ): Promise<ExportRunResult> {
    const previous = await this.lastSucceeded(session.runId);
    const contacts = previous?.counts.contacts ?? 0;
    session.update({
      skipped: 'unchanged',
      unchangedMark: previous?.unchangedMark ?? null,
      counts: { ...session.record.counts, contacts, unchanged: contacts },
      plan: {
        ...emptyDataPlan({
          full: false,
          requestsPerSecond: this.destination.connection.limits.requestsPerSecond,
          requests: 1,
        }),
        contacts,
        unchanged: contacts,
      },
    });
    session.enter('finish');
    await this.recordListBaseline(session, client, this.destination.spec.listId);
    const run = await session.finish('succeeded');
    await this.runStore.checkpoints.delete(session.runId);
    return this.result(run, session, false, undefined);
  }

  /**
   * The record of the destination's last run that succeeded (not a dry run), however many runs
   * failed or were killed since: their number is not bounded (a kill inside the skip path, a
   * connection down at every scheduled refresh).
   */
  private async lastSucceeded(exceptRunId: number): Promise<ExportRunRecord | undefined> {
    let before: RunRecord | undefined;
    for (;;) {
      const page = await this.store.runs.list({
        destination: this.destination.name,
        limit: 50,
        ...(before ? { before } : {}),
      });
      for (const run of page) {
        if (run.id === exceptRunId || run.status !== 'succeeded') continue;
        const record = exportRunRecord(run);
        if (record !== undefined && !record.dryRun) return record;
      }
      if (page.length < 50) return undefined;
      before = page[page.length - 1];
    }
  }

  /**
   * What the list holds now that the run succeeded, for the next run's check: the count read at the
   * start when nothing was sent, else one GET.
   */
  private async recordListBaseline(
    session: ExportRunSession,
    client: ConstantContactClient,
    listId: string,
  ): Promise<void> {
    const { counts, listMembersAtStart } = session.record;
    const sent = session.record.batches.importsConfirmed > 0 || counts.removed > 0;
    let count: number | undefined;
    try {
      count =
        sent || listMembersAtStart === null
          ? (await client.getList(listId)).membership_count
          : listMembersAtStart;
    } catch {
      // Everything was sent and confirmed: without a baseline the next run only looks at the list.
      return;
    }
    if (count === undefined) return;
    // Fewer members than the run can explain (its new contacts in, its removals out, those Constant
    // Contact refused or kept off as unsubscribed aside): someone took members off while it worked,
    // or between a kill and its resume. No baseline then: the next run looks at the list. (Within
    // that slack a trim goes unseen until the count next differs: the price of not exporting the
    // list after every run.)
    const explained =
      listMembersAtStart === null
        ? 0
        : listMembersAtStart + counts.added - counts.removed - counts.unsubscribed - counts.rejected;
    if (count >= explained) await this.runStore.listBaselines.set(this.destination.name, listId, count);
  }

  private async updateTotals(session: ExportRunSession): Promise<void> {
    const imports = runImportTotals(await this.runStore.imports.totals(session.runId), session.record);
    const removals = await this.runStore.removals.totals(session.runId);
    session.update({
      counts: {
        ...session.record.counts,
        imported: imports.imported,
        unsubscribed: imports.unsubscribed,
        rejected: imports.rejected,
        // Removed from the list; leavers found not to be on it only left the snapshot.
        removed: removals.removed - removals.notOnList,
        apiErrors: session.tally.snapshot().failed,
      },
      batches: {
        imports: imports.batches,
        importsConfirmed: imports.confirmedBatches,
        removals: removals.batches,
        removalsConfirmed: removals.confirmedBatches,
      },
    });
  }

  /**
   * A run that stopped on an error: paused for the daily quota when it has a checkpoint to go on
   * from, aborted (nothing sent) for the removal guard or a stop before the plan, failed otherwise.
   */
  private async ended(
    session: ExportRunSession,
    error: unknown,
    planned: boolean,
    resumed = false,
  ): Promise<ExportRunResult> {
    if (error instanceof QuotaExceededError && planned) {
      return this.paused(session, 'quota', error, resumed);
    }
    // The state went away for longer than its retries: the checkpoint is as the last committed
    // write left it, so the run pauses (if the state takes that) instead of ending and folding.
    if (error instanceof ExportctlError && error.code === 'state-connection-lost' && planned) {
      return this.paused(session, 'state-unreachable', error, resumed);
    }
    const failure = this.failure(session, error);
    return this.finishWith(session, endStatus(failure), failure, resumed);
  }

  private get stopped(): boolean {
    return this.options.signal?.aborted === true;
  }

  /** The error a run ended with, as the record keeps it; a stop by the signal is `run-stopped`. */
  private failure(session: ExportRunSession, error: unknown): ExportctlError {
    if (error instanceof ExportctlError) return error;
    // (A run whose earlier reads sent pauses when stopped: only one that sent nothing ends here.)
    if (this.stopped) {
      return new RunEngineError(
        'run-stopped',
        `run ${session.runId} of ${this.destination.name} was stopped before it sent anything`,
        { cause: error, hint: 'run it again: it starts over' },
      );
    }
    return toExportctlError(error);
  }

  private async finishWith(
    session: ExportRunSession,
    status: 'failed' | 'aborted',
    error: ExportctlError,
    resumed: boolean,
  ): Promise<ExportRunResult> {
    await this.updateTotals(session);
    session.update({ error: { code: error.code, message: error.message, hint: error.hint ?? null } });
    const run = await session.finish(status);
    await this.runStore.checkpoints.keepUnconfirmedSends(session.runId, this.destination.name);
    await this.runStore.checkpoints.delete(session.runId);
    await this.runStore.compact();
    return this.result(run, session, resumed, error);
  }

  private async paused(
    session: ExportRunSession,
    reason: 'quota' | 'stopped' | 'state-unreachable',
    error: ExportctlError | undefined,
    resumed: boolean,
  ): Promise<ExportRunResult> {
    await this.updateTotals(session);
    const resumeAt = error instanceof QuotaExceededError ? error.resumeAt.toISOString() : null;
    const message =
      reason === 'quota'
        ? `paused: the API key's daily quota is used up until ${resumeAt}; run it again then to resume run ${session.runId}`
        : reason === 'state-unreachable'
          ? `paused: the state's server could not be reached (${error?.message}); run it again once it is back to resume run ${session.runId}`
          : `paused: stopped between batches; run it again to resume run ${session.runId}`;
    session.update({ pause: { reason, resumeAt, message } });
    const run = await session.save('paused');
    return this.result(run, session, resumed, error);
  }

  private async dryRun(checkpoint: Checkpoint | undefined): Promise<ExportRunResult> {
    const session = await this.startRun(true);
    try {
      // A run taken up while still reading reads again (`readAgain`): so does its dry run.
      if (checkpoint && checkpoint.phase !== 'planning') {
        session.enter('plan');
        session.update({ plan: await this.remainingPlan(checkpoint) });
      } else {
        await readAndPlan(await this.planInput(session, true, undefined));
      }
      session.enter('finish');
      const run = await session.finish('succeeded');
      return this.result(run, session, false, undefined);
    } catch (error) {
      const failure = this.failure(session, error);
      session.update({ error: { code: failure.code, message: failure.message, hint: failure.hint ?? null } });
      const run = await session.finish(endStatus(failure));
      return this.result(run, session, false, failure);
    }
  }

  /** What an unfinished run has left to do, as a plan (a dry run before a resume). */
  private async remainingPlan(checkpoint: Checkpoint): Promise<DataPlan> {
    const batches = (await this.runStore.imports.batches(checkpoint.runId)).filter(
      (batch) => batch.state !== 'confirmed',
    );
    const removals = await this.runStore.removals.totals(checkpoint.runId);
    const remainingRemovals = removals.planned - removals.removed;
    const removalCalls = checkpoint.removalsLookedUp
      ? (await this.runStore.removals.batches(checkpoint.runId)).filter(
          (batch) => batch.state !== 'confirmed',
        ).length
      : Math.ceil(remainingRemovals / maxRemovalIdsPerCall);
    const lookupCalls =
      !checkpoint.removalsLookedUp && remainingRemovals > 0
        ? estimateLookupCalls(await this.runStore.snapshots.size(this.destination.name))
        : 0;
    // Staged contacts no batch holds yet (a run stopped while planning its batches): as it will cut them.
    let unplannedCalls = 0;
    let unplannedContacts = 0;
    for await (const batch of cutImportBatches(
      this.runStore.imports.unplanned(checkpoint.runId),
      checkpoint.listId,
      this.tuning.importBatchLimits,
      undefined,
    )) {
      unplannedCalls += 1;
      unplannedContacts += batch.contacts;
    }
    const importCalls = batches.length + unplannedCalls;
    const estimatedRequests = estimateRunRequests({ importCalls, removalCalls, lookupCalls });
    const rps = this.destination.connection.limits.requestsPerSecond;
    const toImport = batches.reduce((sum, batch) => sum + batch.contacts, unplannedContacts);
    return {
      contacts: toImport,
      adds: 0,
      updates: 0,
      unchanged: 0,
      removals: remainingRemovals,
      kept: 0,
      full: false,
      toImport,
      importCalls,
      removalCalls,
      lookupCalls,
      estimatedRequests,
      requestsPerSecond: rps,
      etaSeconds: Math.ceil(estimatedRequests / rps),
      removalGuard: null,
      resumesRun: checkpoint.runId,
    };
  }

  private async createClient(session: ExportRunSession): Promise<ConstantContactClient> {
    const runtime = await this.store.connection(this.destination.spec.connection);
    const onRequest = this.options.onRequest;
    return new ConstantContactClient({
      connectionName: runtime.name,
      credentials: {
        clientId: runtime.clientId,
        clientSecret: runtime.clientSecret,
        bootstrapRefreshToken: runtime.bootstrapRefreshToken,
      },
      tokenStore: runtime.tokens,
      endpoints: runtime.endpoints,
      limits: runtime.limits,
      clock: this.clock,
      ...(this.store.rateLimiters ? { rateLimiters: this.store.rateLimiters } : {}),
      ...this.tuning.client,
      onRequest: (event) => {
        session.tally.record(event);
        onRequest?.(event);
      },
    });
  }

  private result(
    run: RunRecord,
    session: ExportRunSession,
    resumed: boolean,
    error: ExportctlError | undefined,
  ): ExportRunResult {
    return { run, record: session.record, resumed, error, tookOverLock: this.lock.tookOver };
  }
}

/** How a run that ended on `failure` ends: aborted (nothing sent: the removal guard, a stop), else failed. */
function endStatus(failure: ExportctlError): 'aborted' | 'failed' {
  return failure instanceof RemovalGuardError || failure.code === 'run-stopped' ? 'aborted' : 'failed';
}

/** `error` as an ExportctlError: itself, or `unexpected-error` (a bug) wrapping it. */
export function toExportctlError(error: unknown): ExportctlError {
  if (error instanceof ExportctlError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new RunEngineError('unexpected-error', `the run failed unexpectedly: ${reason}`, {
    cause: error,
    hint: 'this is a bug in exportctl; rerun with EXPORTCTL_DEBUG=1 and report the stack trace',
  });
}
