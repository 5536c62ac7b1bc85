import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import pLimit from 'p-limit';
import { groupExportsBySource } from '../engine/group-exports-by-source';
import { type ExportRunResult, runExport } from '../engine/run-export';
import { runExportGroup } from '../engine/run-export-group';
import {
  type ExportWorkerMessage,
  type ExportWorkerRequest,
  exportWorkerKind,
  type SerializedError,
} from '../engine/run-exports-in-worker';
import { ExportctlError } from '../errors';
import { throttledNotices } from '../net';
import { openExportctlState } from './open-exportctl-state';
import { runEngineStateFor } from './run-engine-state';

/**
 * The worker side of `runExportsInWorker`: opens the state, groups the requested destinations by
 * source (`groupExportsBySource`), runs at most `concurrency` groups at a time, the destinations of
 * a group side by side on one read of their source (`runExportGroup`), all sharing the state's
 * rate limiters (with every other process on it), and reports each one's progress and end to the parent. An `abort` message stops
 * every run between batches.
 */
async function serve(request: ExportWorkerRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const post = (message: ExportWorkerMessage) => port.postMessage(message);
  const controller = new AbortController();
  const onMessage = (message: { type?: string }) => {
    if (message.type === 'abort') controller.abort(new Error('stopped'));
  };
  port.on('message', onMessage);
  const store = await openExportctlState(request.state, {
    cwd: request.cwd,
    env: request.env,
    ...(request.actor ? { actor: request.actor } : {}),
    // A worker's stderr is the process's: the line reaches the terminal as the CLI's own do.
    onConnectionFault: throttledNotices((line) => process.stderr.write(`warning: ${line}\n`)),
  });
  try {
    const state = runEngineStateFor(store, { env: request.env });
    const limit = pLimit(request.concurrency);
    const groups = await groupExportsBySource(state, request.targets, { dryRun: request.dryRun });
    await Promise.all(
      groups.map((group) =>
        limit(() =>
          runExportGroup(group, async (target, sourceRows) => {
            try {
              const result = await runExport({
                store: state,
                destination: target.destination,
                trigger: target.trigger,
                actor: request.actor,
                dryRun: request.dryRun,
                full: request.full,
                signal: controller.signal,
                lockTimeoutMs: request.lockTimeoutMs,
                env: request.env,
                onProgress: (progress) => post({ type: 'progress', progress }),
                onLockWait: (holder) => post({ type: 'lock-wait', destination: target.destination, holder }),
                sourceRows,
              });
              post({ type: 'result', destination: target.destination, result: serializable(result) });
            } catch (error) {
              post({ type: 'error', destination: target.destination, error: serializeError(error) });
            }
          }),
        ),
      ),
    );
  } finally {
    await store.close();
    // The listener alone would keep this thread alive.
    port.off('message', onMessage);
  }
  post({ type: 'done' });
}

function serializable(result: ExportRunResult): Omit<ExportRunResult, 'error'> & { error?: SerializedError } {
  const { error, ...rest } = result;
  return error === undefined ? rest : { ...rest, error: serializeError(error) };
}

function serializeError(error: unknown): SerializedError {
  if (error instanceof ExportctlError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      context: { ...error.context },
    };
  }
  return {
    code: 'unexpected-error',
    message: error instanceof Error ? error.message : String(error),
    context: {},
  };
}

if (
  !isMainThread &&
  parentPort &&
  (workerData as ExportWorkerRequest | undefined)?.kind === exportWorkerKind
) {
  serve(workerData as ExportWorkerRequest).catch((error: unknown) => {
    parentPort?.postMessage({ type: 'fatal', error: serializeError(error) } satisfies ExportWorkerMessage);
  });
}
