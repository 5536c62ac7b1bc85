import type { RunEngineState } from '../engine';
// The one file, not the engine's index: a watch process with nothing to run loads no engine.
import { sharedReadKey } from '../engine/group-exports-by-source';
import { SharedSourceRead, type SharedSourceRowProvider, type SourceRowProvider } from '../profiles';

/**
 * Watch mode's shared reads: runs of destinations on one source that start together (a `Refresh`
 * firing for all of them, or one data change) read the source once. A run joins the read of its
 * source that has not begun yet, or opens one; a read that has begun is not joined (the run would
 * miss rows): the run opens the next one, so that runs started later share among themselves.
 * Which runs start when stays the coordinator's (`maxConcurrent`): a run it holds back reads later,
 * on its own or with others started then.
 */
export class SharedSourceReads {
  private readonly open = new Map<string, SharedSourceRead>();

  /** `rows`: where each shared read's rows come from (default the files; tests count the reads). */
  constructor(private readonly options: { readonly rows?: SourceRowProvider } = {}) {}

  /**
   * The provider the run of `destination` reads through (undefined: it reads alone: a run to
   * resume, a source that cannot be resolved); the run must call its `leave()` when it ends.
   */
  async join(state: RunEngineState, destination: string): Promise<SharedSourceRowProvider | undefined> {
    const key = await sharedReadKey(state, destination);
    if (key === undefined) return undefined;
    let read = this.open.get(key);
    if (read === undefined || read.hasStarted || read.isOver) {
      read = new SharedSourceRead([], this.options.rows === undefined ? {} : { rows: this.options.rows });
      this.open.set(key, read);
    }
    const member = read.add(destination);
    const shared = read;
    return {
      rowBatches: member.rowBatches,
      leave: () => {
        member.leave();
        if (shared.isOver && this.open.get(key) === shared) this.open.delete(key);
      },
    };
  }
}
