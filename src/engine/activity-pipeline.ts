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
  /** Jobs already sent (a resumed run), by activity ID. */
  readonly submitted: ReadonlyMap<string, J>;
  /** Most activities in flight at once. */
  readonly maxInFlight: number;
  readonly polling: PipelinePolling;
  readonly steps: ActivityPipelineSteps<J>;
  /** When aborted, no job is sent any more; those in flight are still waited for and settled. */
  readonly signal?: AbortSignal | undefined;
}

/** How a pipeline ended. */
export interface PipelineOutcome<J> {
  /** True when the signal stopped it with jobs still queued. */
  readonly stopped: boolean;
  /** Jobs never sent because of the signal, in order. */
  readonly unsent: readonly J[];
}

/**
 * Runs bulk activities side by side: sends queued jobs while fewer than `maxInFlight` are in flight,
 * polls those in flight (one request per round for many, see `pollActivities`), and settles each as
 * it becomes final. Jobs are sent one at a time, so at most one request is ever in an unknown state.
 * Resolves when every job is settled, or, once the signal aborts, when those in flight are.
 */
export async function runActivityPipeline<J>(
  options: ActivityPipelineOptions<J>,
): Promise<PipelineOutcome<J>> {
  const { client, clock, polling, steps } = options;
  const queue = [...options.queued];
  const inFlight = new Map<string, { job: J; since: number }>();
  for (const [activityId, job] of options.submitted) inFlight.set(activityId, { job, since: clock.now() });
  let delay = polling.initialDelayMs;
  for (;;) {
    while (queue.length > 0 && inFlight.size < options.maxInFlight && !options.signal?.aborted) {
      const job = queue.shift() as J;
      const activityId = await steps.submit(job);
      if (activityId === undefined) queue.push(job);
      else inFlight.set(activityId, { job, since: clock.now() });
    }
    if (inFlight.size === 0) {
      if (queue.length === 0 || options.signal?.aborted) return { stopped: queue.length > 0, unsent: queue };
      continue;
    }
    await clock.sleep(delay);
    const reports = await poll(client, [...inFlight.keys()]);
    let settled = false;
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
      inFlight.delete(activityId);
      settled = true;
      if ((await steps.settle(entry.job, report)) === 'resubmit') queue.unshift(entry.job);
    }
    delay = settled
      ? polling.initialDelayMs
      : Math.min(polling.maxDelayMs, Math.round(delay * polling.factor));
  }
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
