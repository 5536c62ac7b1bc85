import { SharedSourceRead, type SourceRowProvider } from '../profiles';

/**
 * Runs the destinations of one group (`groupExportsBySource`) side by side on one shared read of
 * their source: `run` is called for every destination at once, with the provider its run must read
 * through (`RunExportOptions.sourceRows`), and resolves when all have ended. A group of one reads
 * on its own (no provider). Each destination's lock, checkpoint and sends stay its own; a
 * destination that ends (or fails) before or while reading leaves the read, so the others neither
 * wait for it nor stop with it. Rejects only if a `run` rejects, after all have ended.
 *
 * All of a group run at once because the read waits for every member to ask for each part: a
 * member held back by a concurrency limit would hold the others back for good. For the same reason a
 * member waiting for its lock (a run of it in another process, up to `lockTimeoutMs`) holds the
 * read back as long; then it fails with `lock-timeout` and the others read.
 */
export async function runExportGroup<T extends { readonly destination: string }, R>(
  group: readonly T[],
  run: (target: T, sourceRows: SourceRowProvider | undefined) => Promise<R>,
  options: { readonly rows?: SourceRowProvider } = {},
): Promise<R[]> {
  const [only] = group;
  if (group.length === 1 && only !== undefined) return [await run(only, undefined)];
  // Members by position: a name given twice is still two readers.
  const read = new SharedSourceRead(
    group.map((_, index) => String(index)),
    options.rows === undefined ? {} : { rows: options.rows },
  );
  const settled = await Promise.allSettled(
    group.map(async (target, index) => {
      const member = read.member(String(index));
      try {
        return await run(target, member);
      } finally {
        member.leave();
      }
    }),
  );
  return settled.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
}
