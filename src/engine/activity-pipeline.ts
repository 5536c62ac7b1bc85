import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  type ActivityReport,
  type Clock,
  type ConstantContactClient,
  ConstantContactError,
} from '../constant-contact';

/** How the pipeline polls its activities; every time in milliseconds. */
export interface PipelinePolling {
  /** First pause after a round that found nothing new; it resets whenever an activity finishes. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** An activity not final this long after it was submitted (or resumed) fails the run. */
  readonly activityTimeoutMs: number;
}

export const defaultPipelinePolling = {
  initialDelayMs: 500,
  maxDelayMs: 5_000,
  factor: 1.5,
  activityTimeoutMs: 3_600_000,
} as const satisfies PipelinePolling;

/** What the pipeline does with each job; the job's durable state is the caller's. */
export interface ActivityPipelineSteps<J> {
  /**
   * Sends the job's request. Resolves with its activity ID, or undefined when the request made no
   * activity and the job should be sent again later (it goes back to the end of the queue).
   */
  submit(job: J): Promise<string | undefined>;
  /**
   * The job's activity is final. Resolves `done` (the job reached its checkpoint) or `resubmit`
   * (the activity failed: send the job again). Throws to stop the run.
   */
  settle(job: J, report: ActivityReport): Promise<'done' | 'resubmit'>;
}

export interface ActivityPipelineOptions<J> {
  readonly client: Pick<ConstantContactClient, 'pollActivities' | 'getActivity'>;
  readonly clock: Clock;
  /** Jobs to send, in order. */
  readonly queued: readonly J[];
  /**
   * Jobs still being planned, sent after `queued`: the next one is asked for whenever no job waits
   * to be sent, so it is planned while the request before it is in the air. The pipeline ends only
   * once they have ended; the signal or a failure stops asking for more.
   */
  readonly arrivals?: AsyncIterable<J> | undefined;
  /** Jobs already sent (a resumed run), by activity ID. */
  readonly submitted: ReadonlyMap<string, J>;
  /** Most activities in flight at once. */
  readonly maxInFlight: number;
  /**
   * A job for which it answers true is sent only once every job sent before it is settled (none in
   * flight, none waiting to be settled): its activity must not run beside theirs (it sends a newer
   * version of a contact one of them holds, and Constant Contact does not promise to carry out
   * activities in the order they were created).
   */
  readonly afterSettled?: ((job: J) => boolean) | undefined;

  readonly polling: PipelinePolling;
  readonly steps: ActivityPipelineSteps<J>;
  /** When aborted, no job is sent any more; those in flight are still waited for and settled. */
  readonly signal?: AbortSignal | undefined;
}

/** How a pipeline ended. */
export interface PipelineOutcome<J> {
  /** True when the signal stopped it with jobs still queued (or still to arrive). */
  readonly stopped: boolean;
  /** Jobs never sent because of the signal, in order. */
  readonly unsent: readonly J[];
}

/**
 * Runs bulk activities side by side, as two loops that share the work. The sender sends queued jobs
 * while fewer than `maxInFlight` are in flight, one request at a time (so at most one request is
 * ever in an unknown state). The poller polls those in flight (one request per round for many, see
 * `pollActivities`) and hands each completed one over to be settled. Settling (a checkpoint
 * transaction, ~0.1 s for 40,000 contacts) is done by the sender, one job after each request it
 * sends — while the rate limiter spaces its requests anyway — or whenever it has nothing to send;
 * by the poller once the sender has stopped. A failed activity's job is settled by the poller at
 * once and goes back to the front of the queue before its room is given up, so it is sent again
 * before the jobs behind it. With `arrivals`, a third loop, the feeder, asks for the next job
 * whenever the queue is empty (the jobs being planned while the first ones are sent). Resolves
 * when every job is settled, or, once the signal aborts, when those in flight are. When one loop
 * fails, the others stop taking new work and are waited for; then the pipeline rejects with the
 * first failure.
 */
export async function runActivityPipeline<J>(
  options: ActivityPipelineOptions<J>,
): Promise<PipelineOutcome<J>> {
  const { client, clock, polling, steps } = options;
  const queue = [...options.queued];
  const inFlight = new Map<string, { job: J; since: number }>();
  for (const [activityId, job] of options.submitted) inFlight.set(activityId, { job, since: clock.now() });
  /** Completed jobs whose room is given up, waiting to be settled (one may still be queued again). */
  const completed: { job: J; report: ActivityReport }[] = [];
  let settling = 0;
  let failure: { error: unknown } | undefined;
  let sending = true;
  let arriving = options.arrivals !== undefined;
  let arrivalsEnded = options.arrivals === undefined;
  // Wakes the loops that wait for the other: room freed, a job completed or queued again, an end.
  let waiting: (() => void)[] = [];
  const change = () => {
    const wake = waiting;
    waiting = [];
    for (const resolve of wake) resolve();
  };
  const nextChange = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
    });
  const settleOne = async (): Promise<boolean> => {
    const next = completed.shift();
    if (next === undefined) return false;
    settling += 1;
    try {
      if ((await steps.settle(next.job, next.report)) === 'resubmit') queue.unshift(next.job);
    } finally {
      settling -= 1;
      change();
    }
    return true;
  };

  const sender = async () => {
    try {
      while (failure === undefined && !options.signal?.aborted) {
        const head = queue[0];
        const held =
          head !== undefined &&
          options.afterSettled?.(head) === true &&
          (inFlight.size > 0 || completed.length > 0 || settling > 0);
        if (queue.length === 0 || inFlight.size >= options.maxInFlight || held) {
          if (await settleOne()) continue;
          // A job may have completed while settleOne's answer was awaited: it is settled first.
          if (completed.length > 0) continue;
          if (queue.length === 0 && inFlight.size === 0 && settling === 0 && !arriving) return;

          await nextChange();
          continue;
        }
        const job = queue.shift() as J;
        // Room in the queue: the next arrival is planned while this request is in the air.
        change();
        const activityId = await steps.submit(job);
        if (activityId === undefined) queue.push(job);
        else inFlight.set(activityId, { job, since: clock.now() });
        change();
        await settleOne();
      }
    } finally {
      sending = false;
      change();
    }
  };

  const poller = async () => {
    let delay = polling.initialDelayMs;
    for (;;) {
      if (failure !== undefined) return;
      if (!sending) while (await settleOne());
      if (inFlight.size === 0) {
        if (!sending) return;
        await nextChange();
        continue;
      }
      await clock.sleep(delay);
      const reports = await poll(client, [...inFlight.keys()]);
      const roomWasFull = inFlight.size >= options.maxInFlight;
      let finished = 0;
      for (const [activityId, entry] of inFlight) {
        const report = reports.get(activityId);
        if (report === undefined || !report.final) {
          if (clock.now() - entry.since > polling.activityTimeoutMs) {
            throw new ConstantContactError(
              'activity-wait-timeout',
              `Activity ${activityId} did not finish within ${Math.round(polling.activityTimeoutMs / 1000)} s`,
              {
                context: { activityId },
                hint: 'run again later: the run resumes and looks at the activity again',
              },
            );
          }
          continue;
        }
        finished += 1;
        if (report.needsResubmit) {
          // Queued again (at the front) before its room is given up: sent before the jobs behind it.
          if ((await steps.settle(entry.job, report)) === 'resubmit') queue.unshift(entry.job);
        } else {
          completed.push({ job: entry.job, report });
        }
        inFlight.delete(activityId);
      }
      if (finished > 0) change();
      // Back to polling often once something finished, if a job waits for room or all are sent.
      // While the sender still has room, polling only settles sooner (each poll is a request the
      // sender's rate limit also counts): back off as when nothing finished.
      const hurry = finished > 0 && (roomWasFull || queue.length === 0);
      delay = hurry
        ? polling.initialDelayMs
        : Math.min(polling.maxDelayMs, Math.round(delay * polling.factor));
    }
  };

  const feeder = async () => {
    const arrivals = options.arrivals;
    if (arrivals === undefined) return;
    const iterator = arrivals[Symbol.asyncIterator]();
    try {
      while (failure === undefined && !options.signal?.aborted) {
        if (queue.length > 0) {
          await nextChange();
          continue;
        }
        // One turn first: the request of the job just taken gets on its way before the next one is
        // planned (planning writes to the state, synchronously for SQLite).
        await nextTurn();
        if (failure !== undefined || options.signal?.aborted) return;
        const next = await iterator.next();
        if (next.done) {
          arrivalsEnded = true;
          return;
        }
        queue.push(next.value);
        change();
      }
    } finally {
      arriving = false;
      change();
      if (!arrivalsEnded) await iterator.return?.();
    }
  };

  const guard = (loop: () => Promise<void>) =>
    loop().catch((error: unknown) => {
      failure ??= { error };
      change();
    });
  await Promise.all([guard(sender), guard(poller), guard(feeder)]);
  if (failure) throw failure.error;
  return { stopped: queue.length > 0 || !arrivalsEnded, unsent: queue };
}

/**
 * One polling round; an activity Constant Contact no longer knows (activities are kept 10 days)
 * reads as failed, so that its job is sent again.
 */
async function poll(
  client: Pick<ConstantContactClient, 'pollActivities' | 'getActivity'>,
  activityIds: readonly string[],
): Promise<Map<string, ActivityReport>> {
  try {
    return await client.pollActivities(activityIds);
  } catch (error) {
    if (!(error instanceof ConstantContactError) || error.code !== 'not-found') throw error;
  }
  const reports = new Map<string, ActivityReport>();
  for (const activityId of activityIds) {
    try {
      reports.set(activityId, await client.getActivity(activityId));
    } catch (error) {
      if (!(error instanceof ConstantContactError) || error.code !== 'not-found') throw error;
      reports.set(activityId, goneActivity(activityId));
    }
  }
  return reports;
}

function goneActivity(activityId: string): ActivityReport {
  return {
    activityId,
    state: 'failed',
    percentDone: 0,
    errors: ['Constant Contact no longer knows this activity'],
    counters: {
      items_total_count: 0,
      items_completed_count: 0,
      person_count: 0,
      error_count: 0,
      correctable_count: 0,
      cannot_add_to_list_count: 0,
      list_count: 0,
    },
    final: true,
    needsResubmit: true,
  };
}
