import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgBossRunQueue, type QueuedRun } from '../../../src/queue';
import { parsePostgresStateUrl } from '../../../src/state/postgres/postgres-state-url';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';

// The shared run queue on a real server: which requests make a job. A schedule's firing is one job
// however many workers ask; a database change (no version every worker sees alike) that comes
// after the key's job was taken gets a job of its own, or the change would never be run.
describe('PgBossRunQueue enqueue', () => {
  let server: PostgresServer;
  let queue: PgBossRunQueue;
  const ran: QueuedRun[] = [];
  let release: () => void = () => {};
  let gate = Promise.resolve();
  beforeAll(async () => {
    server = await startPostgresServer();
    const database = await server.createDatabase();
    queue = await PgBossRunQueue.open({
      location: parsePostgresStateUrl(`${server.url({ database })}?schema=queue_test`, {}),
      hostname: 'test-host',
      pid: process.pid,
      maxConcurrentRuns: 1,
      pollMs: 50,
    });
  }, 60_000);
  afterAll(async () => {
    await queue?.close(1_000);
    await server?.dispose();
  });

  const waitFor = async (what: () => boolean) => {
    for (let i = 0; i < 200 && !what(); i++) await new Promise((done) => setTimeout(done, 50));
    expect(what()).toBe(true);
  };

  it('makes one job of a key, and a later database change after its job was taken one more', async () => {
    await queue.work(1, async (job) => {
      ran.push(job);
      await gate;
      return { done: true, status: 'succeeded' };
    });
    const firing = {
      destination: 'weekly',
      trigger: 'schedule' as const,
      key: 'schedule:weekly@2026-12-02T08:00Z',
    };
    expect(await queue.enqueue(firing)).toBe(true);
    await waitFor(() => ran.length === 1);
    // The same firing asked again (another worker) after its job ran: still one.
    expect(await queue.enqueue(firing)).toBe(false);

    gate = new Promise((done) => {
      release = done;
    });
    const change = {
      destination: 'vip',
      trigger: 'refresh' as const,
      key: 'data:vip@crm:database',
      laterChangesShareKey: true,
    };
    expect(await queue.enqueue(change)).toBe(true);
    await waitFor(() => ran.length === 2);
    // A second change while the first run is in progress: its job waits (one per destination)...
    expect(await queue.enqueue(change)).toBe(true);
    // ...and a third before that one was taken is the same waiting job.
    expect(await queue.enqueue(change)).toBe(false);
    release();
    await waitFor(() => ran.length === 3);
    expect(ran.map((job) => job.destination)).toEqual(['weekly', 'vip', 'vip']);
    // Without the flag the key's ended job stands for every later request: what it was before.
    expect(await queue.enqueue({ ...change, laterChangesShareKey: false })).toBe(false);
  }, 60_000);
});
