import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ErrorContext } from '../errors';
import { ExportctlError } from '../errors';
import type { LockHolderRecord, RunTrigger } from './control-plane';
import type { RunProgress } from './export-run-session';
import { RunEngineError } from './run-engine-errors';
import type { ExportRunResult } from './run-export';

/** An error as it crosses from the worker: code, message, hint, context. */
export interface SerializedError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly context: ErrorContext;
}

/** Marks the worker data of an export worker, so that no other worker thread starts serving. */
export const exportWorkerKind = 'exportctl-export-worker';

/** What the worker is asked to run. */
export interface ExportWorkerRequest {
  readonly kind?: typeof exportWorkerKind;
  /** `--state` URL (undefined: EXPORTCTL_STATE, else the default), resolved against `cwd`. */
  readonly state: string | undefined;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly actor: string | undefined;
  readonly targets: readonly { readonly destination: string; readonly trigger: RunTrigger }[];
  readonly dryRun: boolean;
  readonly full: boolean;
  readonly lockTimeoutMs: number;
  /**
   * Sources read side by side: the destinations of one source always run together, on one read of
   * it (see `groupExportsBySource`); all share the worker's per-API-key rate limiters.
   */
  readonly concurrency: number;
}

/** Messages from the worker. */
export type ExportWorkerMessage =
  | { readonly type: 'progress'; readonly progress: RunProgress }
  | { readonly type: 'lock-wait'; readonly destination: string; readonly holder: LockHolderRecord }
  | {
      readonly type: 'result';
      readonly destination: string;
      readonly result: Omit<ExportRunResult, 'error'> & { readonly error?: SerializedError };
    }
  | { readonly type: 'error'; readonly destination: string; readonly error: SerializedError }
  | { readonly type: 'fatal'; readonly error: SerializedError }
  | { readonly type: 'done' };

/** How one destination ended: its run, or the error that kept it from running. */
export type WorkerRunOutcome =
  | ({ readonly destination: string } & ExportRunResult)
  | { readonly destination: string; readonly failure: ExportctlError };

export interface RunExportsInWorkerOptions {
  readonly onProgress?: (progress: RunProgress) => void;
  readonly onLockWait?: (destination: string, holder: LockHolderRecord) => void;
  /** Aborting it stops every run between batches (they pause, resumable). */
  readonly signal?: AbortSignal;
}

/**
 * The heap a worker may use, in MB. A young generation this large lets the per-row garbage of a
 * million-row read die young instead of being promoted and piling up in the old generation until
 * a full GC (the default young generation is a few MB); the old generation's cap keeps V8 from
 * letting that garbage grow to several times the live data. A million-contact run lives in well
 * under 150 MB; a selection so large it needs more fails that run with `out-of-memory`. 96 MB
 * rather than 48: a 1%-change rerun of a million profiles spent 7.8-7.9 s of CPU instead of
 * 9.6-10.0 s (the run bench, two pairs taking turns), for 13-37 MiB more peak RSS.
 */
export const exportWorkerHeap = { maxYoungGenerationSizeMb: 96, maxOldGenerationSizeMb: 512 } as const;

/**
 * Runs exports (see `runExport`) in a worker thread with a bounded heap (`exportWorkerHeap`), so
 * that the CLI keeps its peak memory predictable. (Watch mode runs exports in its own process
 * instead, so that all its runs and reconciles share one rate limiter per API key.) The worker opens the state itself (another connection to the same file, which
 * SQLite's locking makes safe) and runs the targets grouped by source, at most `concurrency` groups
 * at a time, the destinations of a group together on one read of their source, sharing its rate
 * limiters. Resolves with one outcome per target, in the order given; never rejects for a
 * failed run. A worker that dies (out of memory) fails the targets it had not finished; a run it
 * had planned is resumed by the next run, like after a crash.
 */
export function runExportsInWorker(
  request: ExportWorkerRequest,
  options: RunExportsInWorkerOptions = {},
): Promise<WorkerRunOutcome[]> {
  return new Promise((resolve) => {
    const outcomes = new Map<string, WorkerRunOutcome>();
    // The worker's entry is the wiring's: it opens the state and builds the engine's store from it.
    const worker = new Worker(join(__dirname, '..', 'wiring', 'export-worker.js'), {
      workerData: { ...request, kind: exportWorkerKind },
      env: request.env,
      resourceLimits: exportWorkerHeap,
    });
    const abort = () => worker.postMessage({ type: 'abort' });
    options.signal?.addEventListener('abort', abort, { once: true });
    if (options.signal?.aborted) abort();
    let fatal: ExportctlError | undefined;
    worker.on('message', (message: ExportWorkerMessage) => {
      switch (message.type) {
        case 'progress':
          options.onProgress?.(message.progress);
          break;
        case 'lock-wait':
          options.onLockWait?.(message.destination, message.holder);
          break;
        case 'result': {
          const { error, ...result } = message.result;
          outcomes.set(message.destination, {
            destination: message.destination,
            ...result,
            error: error === undefined ? undefined : toError(error),
          });
          break;
        }
        case 'error':
          outcomes.set(message.destination, {
            destination: message.destination,
            failure: toError(message.error),
          });
          break;
        case 'fatal':
          fatal = toError(message.error);
          break;
        case 'done':
          break;
      }
    });
    const finish = (why?: ExportctlError) => {
      options.signal?.removeEventListener('abort', abort);
      resolve(
        request.targets.map(
          (target) =>
            outcomes.get(target.destination) ?? {
              destination: target.destination,
              failure:
                fatal ??
                why ??
                new RunEngineError(
                  'worker-failed',
                  `the export worker ended before ${target.destination} did`,
                ),
            },
        ),
      );
    };
    worker.on('error', (error: Error & { code?: string }) => {
      finish(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new RunEngineError(
              'out-of-memory',
              `the export ran out of memory (a heap of ${exportWorkerHeap.maxOldGenerationSizeMb} MB)`,
              {
                hint: 'the selection is very large: split the destination, or run it again (a planned run resumes)',
              },
            )
          : new RunEngineError('worker-failed', `the export worker failed: ${error.message}`, {
              cause: error,
            }),
      );
    });
    worker.on('exit', () => finish());
  });
}

function toError(error: SerializedError): ExportctlError {
  return new ExportctlError(error.code, error.message, {
    context: error.context,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
  });
}
