import type { RunEngineContents, RunEngineRecords, RunEngineTransfer } from '../engine/run-engine-transfer';
import type { ControlPlaneContents, ControlPlaneRecords, ControlPlaneTransfer } from '../state';

/** One chunk of a state's records: the control plane's or the run engine's. */
export type StateRecords =
  | { readonly part: 'control-plane'; readonly records: ControlPlaneRecords }
  | { readonly part: 'run-engine'; readonly records: RunEngineRecords };

/** What a state holds, per part. */
export interface StateContents {
  readonly controlPlane: ControlPlaneContents;
  readonly runEngine: RunEngineContents;
}

/**
 * A whole state as a stream of records, whichever its backend: what `exportctl state migrate`
 * reads from one state and writes into another. Built by the backend's entry in the wiring from its
 * two halves (see {@link composeStateTransfer}).
 */
export interface StateTransfer {
  /**
   * Reads one moment of the state: `work` gets its contents and every record (chunks of at most
   * `chunkSize` rows), and the read stays open until `work` settles.
   */
  read<T>(
    chunkSize: number,
    work: (contents: StateContents, records: AsyncIterable<StateRecords>) => Promise<T>,
  ): Promise<T>;
  /**
   * Writes `records` in one transaction, all or nothing. `admit` sees what the state holds inside
   * that transaction (so nothing is written between the check and the copy) and throws to refuse,
   * or answers whether to delete what it holds first.
   */
  write(
    admit: (contents: StateContents) => 'clear' | 'keep',
    records: AsyncIterable<StateRecords>,
  ): Promise<void>;
}

/** A {@link StateTransfer} of the two halves of one backend, on the transactions of the first. */
export function composeStateTransfer<H>(
  controlPlane: ControlPlaneTransfer<H>,
  runEngine: RunEngineTransfer<H>,
): StateTransfer {
  const contents = async (handle: H): Promise<StateContents> => ({
    controlPlane: await controlPlane.contents(handle),
    runEngine: await runEngine.contents(handle),
  });
  return {
    read: (chunkSize, work) =>
      controlPlane.reading(async (handle) => {
        async function* records(): AsyncIterable<StateRecords> {
          for await (const chunk of controlPlane.read(handle, chunkSize))
            yield { part: 'control-plane', records: chunk };
          for await (const chunk of runEngine.read(handle, chunkSize))
            yield { part: 'run-engine', records: chunk };
        }
        return work(await contents(handle), records());
      }),
    write: (admit, records) =>
      controlPlane.writing(async (handle) => {
        if (admit(await contents(handle)) === 'clear') {
          // The control plane first: deleting a destination's resource row makes the run engine's
          // triggers write rows (its next revision) that the engine's clear then removes.
          await controlPlane.clear(handle);
          await runEngine.clear(handle);
        }
        // Every control-plane chunk comes first: the run engine's rows refer to its runs.
        for await (const chunk of records) {
          if (chunk.part === 'control-plane') await controlPlane.write(handle, chunk.records);
          else await runEngine.write(handle, chunk.records);
        }
        await controlPlane.finish(handle);
        await runEngine.finish(handle);
      }),
  };
}
