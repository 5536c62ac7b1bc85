import { describe, expect, it } from 'vitest';
import { type ActivityReport, ConstantContactError } from '../../../src/constant-contact';
import { type ActivityPipelineSteps, runActivityPipeline } from '../../../src/engine';

const polling = { initialDelayMs: 100, maxDelayMs: 400, factor: 2, activityTimeoutMs: 10_000 };

function report(activityId: string, state: string): ActivityReport {
  const final = ['completed', 'failed', 'timed_out', 'cancelled'].includes(state);
  return {
    activityId,
    state,
    percentDone: 0,
    errors: [],
    counters: {
      items_total_count: 1,
      items_completed_count: 0,
      person_count: 0,
      error_count: 0,
      correctable_count: 0,
      cannot_add_to_list_count: 0,
      list_count: 0,
    },
    final,
    needsResubmit: final && state !== 'completed',
  };
}

/**
 * Activities that finish after a given number of polling rounds, with a scripted final state; a
 * clock whose sleep advances it. Records what happened, in order.
 */
function world(script: Record<string, { rounds: number; state?: string }[]> = {}) {
  let now = 0;
  const events: string[] = [];
  const sleeps: number[] = [];
  const inFlight = new Map<string, { job: string; rounds: number; state: string }>();
  const attempts = new Map<string, number>();
  let next = 0;
  let maxInFlight = 0;
  const client = {
    async pollActivities(ids: readonly string[]) {
      const reports = new Map<string, ActivityReport>();
      for (const id of ids) {
        const entry = inFlight.get(id);
        if (!entry) throw new ConstantContactError('not-found', `no activity ${id}`);
        entry.rounds -= 1;
        reports.set(id, report(id, entry.rounds <= 0 ? entry.state : 'processing'));
      }
      return reports;
    },
    async getActivity(id: string) {
      const entry = inFlight.get(id);
      if (!entry) throw new ConstantContactError('not-found', `no activity ${id}`);
      return report(id, entry.rounds <= 0 ? entry.state : 'processing');
    },
  };
  const steps: ActivityPipelineSteps<string> = {
    async submit(job) {
      const attempt = (attempts.get(job) ?? 0) + 1;
      attempts.set(job, attempt);
      const plan = script[job]?.[attempt - 1] ?? { rounds: 1 };
      const id = `a${++next}`;
      inFlight.set(id, { job, rounds: plan.rounds, state: plan.state ?? 'completed' });
      maxInFlight = Math.max(maxInFlight, [...inFlight.values()].filter((e) => e.rounds > 0).length);
      events.push(`submit ${job}`);
      return id;
    },
    async settle(job, activity) {
      events.push(`${activity.state} ${job}`);
      return activity.needsResubmit ? 'resubmit' : 'done';
    },
  };
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
  return { client, steps, clock, events, sleeps, inFlight, stats: () => ({ maxInFlight }) };
}

/** The pipeline over `w`'s client and clock, nothing in flight yet. */
function runQueued(
  w: ReturnType<typeof world>,
  queued: string[],
  steps: ActivityPipelineSteps<string> = w.steps,
  maxInFlight = 1,
) {
  return runActivityPipeline({
    client: w.client,
    clock: w.clock,
    queued,
    submitted: new Map(),
    maxInFlight,
    polling,
    steps,
  });
}

describe('runActivityPipeline', () => {
  it('sends a job marked afterSettled only once every job sent before it is settled', async () => {
    // j1 runs long; j2 and j4 may run beside it; j3 must wait for j1 and j2 to be settled.
    const w = world({ j1: [{ rounds: 4 }], j2: [{ rounds: 1 }], j3: [{ rounds: 1 }] });
    const outcome = await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: ['j1', 'j2', 'j3', 'j4'],
      submitted: new Map(),
      maxInFlight: 4,
      polling,
      afterSettled: (job) => job === 'j3',
      steps: w.steps,
    });
    expect(outcome).toEqual({ stopped: false, unsent: [] });
    const at = (event: string) => w.events.indexOf(event);
    expect(at('submit j2')).toBeLessThan(at('completed j1'));
    expect(at('submit j3')).toBeGreaterThan(at('completed j1'));
    expect(at('submit j3')).toBeGreaterThan(at('completed j2'));
    // Nothing behind it overtakes it either: the queue keeps its order.
    expect(at('submit j4')).toBeGreaterThan(at('submit j3'));
    expect(w.events.filter((event) => event.startsWith('completed')).sort()).toEqual([
      'completed j1',
      'completed j2',
      'completed j3',
      'completed j4',
    ]);
  });

  it('keeps at most maxInFlight activities running and settles every job once', async () => {
    const w = world({ j1: [{ rounds: 3 }], j2: [{ rounds: 1 }] });
    const outcome = await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: ['j1', 'j2', 'j3', 'j4', 'j5'],
      submitted: new Map(),
      maxInFlight: 2,
      polling,
      steps: w.steps,
    });
    expect(outcome).toEqual({ stopped: false, unsent: [] });
    expect(w.stats().maxInFlight).toBe(2);
    expect(w.events.filter((event) => event.startsWith('completed')).sort()).toEqual([
      'completed j1',
      'completed j2',
      'completed j3',
      'completed j4',
      'completed j5',
    ]);
    expect(w.events.slice(0, 2)).toEqual(['submit j1', 'submit j2']);
  });

  it('sends a job whose activity failed again, before the jobs behind it', async () => {
    const w = world({ j1: [{ rounds: 1, state: 'failed' }, { rounds: 1 }] });
    await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: ['j1', 'j2'],
      submitted: new Map(),
      maxInFlight: 1,
      polling,
      steps: w.steps,
    });
    // j1 goes out again before j2; j1's completion is then settled after j2 has left.
    expect(w.events).toEqual([
      'submit j1',
      'failed j1',
      'submit j1',
      'submit j2',
      'completed j1',
      'completed j2',
    ]);
  });

  it('on abort sends nothing more but still settles what is in flight', async () => {
    const w = world({ j1: [{ rounds: 2 }] });
    const controller = new AbortController();
    const steps: ActivityPipelineSteps<string> = {
      submit: async (job) => {
        const id = await w.steps.submit(job);
        controller.abort();
        return id;
      },
      settle: w.steps.settle,
    };
    const outcome = await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: ['j1', 'j2', 'j3'],
      submitted: new Map(),
      maxInFlight: 1,
      polling,
      steps,
      signal: controller.signal,
    });
    expect(outcome).toEqual({ stopped: true, unsent: ['j2', 'j3'] });
    expect(w.events).toEqual(['submit j1', 'completed j1']);
  });

  it('waits for activities a resumed run had in flight, and backs off while nothing finishes', async () => {
    const w = world();
    w.inFlight.set('old', { job: 'j0', rounds: 4, state: 'completed' });
    await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: [],
      submitted: new Map([['old', 'j0']]),
      maxInFlight: 2,
      polling,
      steps: w.steps,
    });
    expect(w.events).toEqual(['completed j0']);
    expect(w.sleeps).toEqual([100, 200, 400, 400]);
  });

  it('treats an activity Constant Contact no longer knows as failed', async () => {
    const w = world();
    const settled: string[] = [];
    await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: [],
      submitted: new Map([['forgotten', 'j0']]),
      maxInFlight: 1,
      polling,
      steps: {
        submit: w.steps.submit,
        settle: async (job, activity) => {
          settled.push(`${job} ${activity.state} ${activity.needsResubmit}`);
          return 'done';
        },
      },
    });
    expect(settled).toEqual(['j0 failed true']);
  });

  it('fails with activity-wait-timeout when an activity never finishes', async () => {
    const w = world({ j1: [{ rounds: 1_000 }] });
    await expect(
      runActivityPipeline({
        client: w.client,
        clock: w.clock,
        queued: ['j1'],
        submitted: new Map(),
        maxInFlight: 1,
        polling,
        steps: w.steps,
      }),
    ).rejects.toMatchObject({ code: 'activity-wait-timeout' });
  });

  it('settles a completed job after sending the next one, one request at a time', async () => {
    const w = world();
    let sending = 0;
    let mostSending = 0;
    await runQueued(w, ['j1', 'j2', 'j3'], {
      submit: async (job) => {
        sending += 1;
        mostSending = Math.max(mostSending, sending);
        const id = await w.steps.submit(job);
        await Promise.resolve();
        sending -= 1;
        return id;
      },
      settle: async (job, activity) => {
        w.events.push(`settling ${job}`);
        await Promise.resolve();
        await Promise.resolve();
        return w.steps.settle(job, activity);
      },
    });
    // The sender settles j1 right after sending j2 (while the rate limiter would space its requests),
    // and so on; the last one when there is nothing left to send.
    expect(w.events).toEqual([
      'submit j1',
      'submit j2',
      'settling j1',
      'completed j1',
      'submit j3',
      'settling j2',
      'completed j2',
      'settling j3',
      'completed j3',
    ]);
    expect(mostSending).toBe(1);
  });

  it('stops sending when a settle fails, waits for the request under way, then fails with that error', async () => {
    const w = world();
    const refused = new Error('destination replaced');
    await expect(
      runQueued(w, ['j1', 'j2', 'j3'], {
        submit: async (job) => {
          const id = await w.steps.submit(job);
          for (let turn = 0; turn < 5; turn++) await Promise.resolve();
          w.events.push(`sent ${job}`);
          return id;
        },
        settle: async () => {
          await Promise.resolve();
          throw refused;
        },
      }),
    ).rejects.toBe(refused);
    expect(w.events).toEqual(['submit j1', 'sent j1', 'submit j2', 'sent j2']);
  });

  it('sends again a completed job that its settle queues again, even with nothing else left to send', async () => {
    const w = world();
    let settles = 0;
    const outcome = await runQueued(
      w,
      ['j1'],
      {
        submit: w.steps.submit,
        settle: async () => {
          settles += 1;
          await Promise.resolve();
          await Promise.resolve();
          return settles === 1 ? 'resubmit' : 'done';
        },
      },
      2,
    );
    expect(outcome).toEqual({ stopped: false, unsent: [] });
    expect(w.events).toEqual(['submit j1', 'submit j1']);
  });

  it('sends jobs still arriving as each arrives, asking for the next while the request before it is out', async () => {
    const w = world();
    async function* arrivals() {
      for (const job of ['j2', 'j3', 'j4']) {
        w.events.push(`plan ${job}`);
        yield job;
      }
    }
    const outcome = await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: ['j1'],
      arrivals: arrivals(),
      submitted: new Map(),
      maxInFlight: 4,
      polling,
      steps: {
        submit: async (job) => {
          const id = await w.steps.submit(job);
          // The request in the air (waiting for I/O): the next job is planned meanwhile.
          for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
          w.events.push(`sent ${job}`);
          return id;
        },
        settle: w.steps.settle,
      },
    });
    expect(outcome).toEqual({ stopped: false, unsent: [] });
    // j2 is asked for only once j1 has left the queue, and planned while j1's request is out.
    expect(w.events.slice(0, 4)).toEqual(['submit j1', 'plan j2', 'sent j1', 'submit j2']);
    expect(w.events.indexOf('submit j2')).toBeLessThan(w.events.indexOf('plan j4'));
    expect(w.events.filter((event) => event.startsWith('completed')).sort()).toEqual([
      'completed j1',
      'completed j2',
      'completed j3',
      'completed j4',
    ]);
  });

  it('stops asking for arrivals once the signal aborts, and says it stopped with work left', async () => {
    const w = world();
    const controller = new AbortController();
    let asked = 0;
    let closed = false;
    async function* arrivals() {
      try {
        for (const job of ['j1', 'j2', 'j3']) {
          asked += 1;
          yield job;
        }
      } finally {
        closed = true;
      }
    }
    const outcome = await runActivityPipeline({
      client: w.client,
      clock: w.clock,
      queued: [],
      arrivals: arrivals(),
      submitted: new Map(),
      maxInFlight: 4,
      polling,
      steps: {
        submit: async (job) => {
          controller.abort();
          return w.steps.submit(job);
        },
        settle: w.steps.settle,
      },
      signal: controller.signal,
    });
    expect(outcome.stopped).toBe(true);
    expect(w.events).toEqual(['submit j1', 'completed j1']);
    expect(asked).toBeLessThan(3);
    expect(closed).toBe(true);
  });
});
