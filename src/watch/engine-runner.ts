import type { ApiLogger, OnApiRequest } from '../constant-contact';
import type { OnRunProgress } from '../engine/export-run-session';
import type { StateStore } from '../state';
import type { ExportRunner, RunOutcome } from './run-coordinator';
import { SharedSourceReads } from './shared-source-reads';

export interface EngineRunnerOptions {
  /** The watch process's open state (SQLite: snapshots and checkpoints live there). */
  readonly store: StateStore;
  readonly actor: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** How long a run waits for the destination's lock (a manual run in another process). */
  readonly lockTimeoutMs: number;
  /** Every Constant Contact request of every run (metrics). */
  readonly onRequest?: OnApiRequest;
  /** The runs' clients' log events: their retry notices above all (see `retryNotice`). */
  readonly logger?: ApiLogger;
  /** Each run's progress (the status page's runs in progress). */
  readonly onProgress?: OnRunProgress;
}

/**
 * Watch mode's runs: the run engine in this process, so that every run and every reconcile share
 * the state's rate limiter of each API key (runs of different destinations on one connection, here
 * or in another process on the state, never exceed its requests per second together). `signal` stops a run between batches: it pauses
 * at its checkpoint and the next run resumes it. Runs of one source that start together (a refresh
 * of all its destinations) read it once (`SharedSourceReads`).
 */
export function engineExportRunner(options: EngineRunnerOptions): ExportRunner {
  const reads = new SharedSourceReads();
  return async ({ destination, trigger, signal }): Promise<RunOutcome> => {
    // Loaded on first use: a watch process with nothing to run never loads the engine.
    const { pauseText, runExport } = require('../engine') as typeof import('../engine');
    const { runEngineStateFor } =
      require('../wiring/run-engine-state') as typeof import('../wiring/run-engine-state');
    const store = runEngineStateFor(options.store, { env: options.env });
    const sourceRows = await reads.join(store, destination);
    const result = await runExport({
      store,
      destination,
      trigger,
      actor: options.actor,
      signal,
      env: options.env,
      lockTimeoutMs: options.lockTimeoutMs,
      onRequest: options.onRequest,
      onProgress: options.onProgress,
      ...(options.logger ? { tuning: { client: { logger: options.logger } } } : {}),
      sourceRows,
    }).finally(() => sourceRows?.leave());
    const { recordRunOnConnection } = require('../resources') as typeof import('../resources');
    await recordRunOnConnection(
      options.store,
      destination,
      { accepted: result.run.status === 'succeeded' && !result.record.dryRun, error: result.error },
      { identity: options.actor ?? 'watch', command: `watch (run ${destination})` },
    );
    const { counts } = result.record;
    const status = result.run.status;
    return {
      status: status === 'running' ? 'paused' : status,
      imported: counts.imported,
      removed: counts.removed,
      ...(result.error
        ? {
            message: `${result.error.code}: ${result.error.message}`,
            ...(result.error.hint ? { hint: result.error.hint } : {}),
          }
        : result.record.pause
          ? { message: pauseText(result.record.pause) }
          : {}),
    };
  };
}
