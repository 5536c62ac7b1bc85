import { MultiBar, type SingleBar } from 'cli-progress';
import type { RunProgress } from '../engine';
import { noun, plural } from '../text';
import type { CliContext } from './cli-context';
import { formatDuration } from './render-run';

/** Shows runs' progress: bars on a terminal, a log line every few seconds otherwise. */
export interface RunProgressDisplay {
  readonly onProgress: (progress: RunProgress) => void;
  /** Prints a line without breaking the bars. */
  log(line: string): void;
  stop(): void;
}

const int = (value: number) => value.toLocaleString('en-US');

/**
 * What a progress event says, in words: while reading, the profile rows read so far (`reading the
 * source` before the first) and the calls sent meanwhile, if any; once planning, the contacts staged from the rows read; then the calls.
 */
export function describeProgress(progress: RunProgress): string {
  const { phase } = progress;
  if (phase === 'preflight') return 'checking the list';
  // The read starts with the segment membership, before any profile row: say so, not "0 rows".
  if (phase === 'read') {
    const read =
      progress.profileRows === 0
        ? 'reading the source'
        : `reading: ${plural(progress.profileRows, 'profile row')} so far, ${plural(progress.staged, 'contact')}`;
    // Batches leave while the source is read (`sendWhileReading`): so far, of those cut so far.
    const { importBatches: b } = progress;
    return b.total === 0
      ? read
      : `${read}; sending as it reads: ${int(b.done)}/${int(b.total)} ${noun(b.total, 'call')} confirmed`;
  }
  // A read shorter than the log interval has no line of its own: the plan's line says what it read.
  if (phase === 'plan')
    return progress.profileRows === 0
      ? `planning: ${plural(progress.staged, 'contact')}`
      : `planning: ${plural(progress.staged, 'contact')} from ${plural(progress.profileRows, 'profile row')} read`;
  if (phase === 'import') {
    const { importBatches: b, importContacts: c } = progress;
    return `importing: ${int(b.done)}/${int(b.total)} ${noun(b.total, 'call')} confirmed, ${int(c.done)}/${int(c.total)} ${noun(c.total, 'contact')}`;
  }
  if (phase === 'remove') {
    const { done, total } = progress.removals;
    return `removing: ${int(done)}/${int(total)} ${noun(total, 'contact')}`;
  }
  return 'finishing';
}

/**
 * On a terminal (`stderr.isTTY`), one bar per destination (cli-progress) that fills with the import
 * and removal calls; otherwise a line per destination at each phase change and every `intervalMs`
 * (default 5 s), on stderr, so logs of scheduled runs show they are alive.
 */
export function createRunProgressDisplay(
  context: CliContext,
  options: { intervalMs?: number; now?: () => number } = {},
): RunProgressDisplay {
  const now = options.now ?? Date.now;
  if (context.stderr.isTTY) {
    const multibar = new MultiBar({
      stream: context.stderr,
      format: ' {destination} [{bar}] {percentage}% | {detail} | {elapsed}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 24,
      fps: 5,
    });
    const bars = new Map<string, SingleBar>();
    return {
      onProgress(progress) {
        const done = progress.importBatches.done + (progress.removals.total > 0 ? progress.removals.done : 0);
        const total = Math.max(1, progress.importBatches.total + progress.removals.total);
        const payload = {
          destination: progress.destination,
          detail: describeProgress(progress),
          elapsed: formatDuration(progress.elapsedMs),
        };
        let bar = bars.get(progress.destination);
        if (!bar) {
          bar = multibar.create(total, done, payload);
          bars.set(progress.destination, bar);
        }
        bar.setTotal(total);
        bar.update(progress.phase === 'finish' ? total : done, payload);
      },
      log(line) {
        multibar.log(`${line}\n`);
      },
      stop() {
        multibar.stop();
      },
    };
  }
  const intervalMs = options.intervalMs ?? 5_000;
  const last = new Map<string, { at: number; phase: string }>();
  return {
    onProgress(progress) {
      const previous = last.get(progress.destination);
      const at = now();
      if (previous && previous.phase === progress.phase && at - previous.at < intervalMs) return;
      last.set(progress.destination, { at, phase: progress.phase });
      context.stderr.write(
        `${progress.destination}: run ${progress.runId}: ${describeProgress(progress)} (${formatDuration(progress.elapsedMs)})\n`,
      );
    },
    log(line) {
      context.stderr.write(`${line}\n`);
    },
    stop() {},
  };
}
