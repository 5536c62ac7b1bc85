import type { ChildProcess } from 'node:child_process';

/**
 * The child processes the campaign started and that are still alive (sandboxes, exportctl runs),
 * so that a campaign stopped from outside leaves none behind: `run.mjs` kills them on exit.
 */
const alive = new Set<ChildProcess>();

/** Tracks `child` until it exits. */
export function trackChild(child: ChildProcess): void {
  alive.add(child);
  child.once('exit', () => alive.delete(child));
}

/** SIGKILLs every tracked child (synchronous: usable in a process `exit` handler). */
export function killTrackedChildren(): number {
  let killed = 0;
  for (const child of alive) {
    if (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) killed += 1;
  }
  alive.clear();
  return killed;
}
