import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { CONTROL_PLANE_LOCK, type StateStore } from '../../../src/state';
import { type ExportRunner, ManualWatchClock, WatchMetrics, WatchService } from '../../../src/watch';
import { quickstartCopy } from '../../support/quickstart-world';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

interface Harness {
  readonly service: WatchService;
  readonly store: StateStore;
  readonly manifests: string;
  readonly clock: ManualWatchClock;
  readonly metrics: WatchMetrics;
  readonly runs: string[];
  readonly logs: () => Record<string, unknown>[];
}

let sandbox: SandboxHandle | undefined;
let service: WatchService | undefined;

afterEach(async () => {
  await service?.stop(1_000);
  service = undefined;
  await sandbox?.close();
  sandbox = undefined;
});

async function harness(
  overrides: {
    lockTimeoutMs?: number;
    driftIntervalMs?: number;
    /** Another folder of manifests, and the state they were applied to, instead of fresh ones. */
    elsewhere?: { readonly manifests: string; readonly store: StateStore };
  } = {},
): Promise<Harness> {
  if (overrides.elsewhere === undefined) sandbox = await startSandbox();
  const manifests = overrides.elsewhere?.manifests ?? quickstartCopy(sandbox as SandboxHandle);
  const store = overrides.elsewhere?.store ?? (await openTestState({ folder: tempFolder() }));
  const clock = new ManualWatchClock(Date.parse('2026-11-23T07:59:00Z'));
  const metrics = new WatchMetrics();
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk, _encoding, done) => {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const runs: string[] = [];
  const runner: ExportRunner = async ({ destination, trigger }) => {
    runs.push(`${destination}:${trigger}`);
    return { status: 'succeeded', imported: 3, removed: 0 };
  };
  service = new WatchService({
    paths: [manifests],
    cwd: manifests,
    env: { CC_CLIENT_SECRET: 'sandbox-secret', CC_REFRESH_TOKEN: 'sandbox-refresh-token' },
    store,
    actor: 'ops@example.com',
    prune: false,
    debounceMs: 150,
    driftIntervalMs: overrides.driftIntervalMs ?? 0,
    dataStableMs: 200,
    maxConcurrentRuns: 2,
    lockTimeoutMs: overrides.lockTimeoutMs ?? 5_000,
    clock,
    logger,
    metrics,
    runner,
  });
  return {
    service,
    store,
    manifests,
    clock,
    metrics,
    runs,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Polls `check` until it holds (or fails after `timeoutMs`). */
async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const metric = async (metrics: WatchMetrics, name: string, labels: string) =>
  (await metrics.registry.metrics())
    .split('\n')
    .find((line) => line.startsWith(`${name}{${labels}}`))
    ?.split(' ')[1];

describe('WatchService (real files, SQLite and sandbox; a recording runner)', () => {
  it('started in another folder on the same manifests, applies nothing', async () => {
    const first = await harness();
    await first.service.start();
    const applied = await first.store.resources.list();
    expect(applied).toHaveLength(6);
    await first.service.stop(1_000);
    const copy = join(tempFolder(), 'elsewhere');
    cpSync(first.manifests, copy, { recursive: true });
    const second = await harness({ elsewhere: { manifests: copy, store: first.store } });
    await second.service.start();
    expect(second.service.isReady()).toBe(true);
    const after = await second.store.resources.list();
    expect(after.map((item) => [item.kind, item.name, item.generation, item.updatedAt])).toEqual(
      applied.map((item) => [item.kind, item.name, item.generation, item.updatedAt]),
    );
  });

  it('applies at start, then on every manifest change; an invalid change applies nothing', async () => {
    const h = await harness();
    await h.service.start();
    expect(h.service.isReady()).toBe(true);
    expect((await h.store.resources.list()).map((item) => `${item.kind}/${item.name}`)).toHaveLength(6);

    const destinations = join(h.manifests, 'destinations.yaml');
    const editedAt = Date.now();
    writeFileSync(
      destinations,
      readFileSync(destinations, 'utf8').replace('segments: [VIP, Newsletter]', 'segments: [VIP]'),
    );
    await eventually(
      async () => (await h.store.resources.get('ExportDestination', 'vip-newsletter'))?.generation === 2,
    );
    expect(Date.now() - editedAt).toBeLessThan(1_000 + 150);

    writeFileSync(
      destinations,
      readFileSync(destinations, 'utf8').replace(
        'listId: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
        'listId: not-a-uuid',
      ),
    );
    await eventually(
      async () => (await metric(h.metrics, 'exportctl_reconciles_total', 'result="invalid"')) === '1',
    );
    const errors = h
      .logs()
      .filter((line) => line.level === 50)
      .map((line) => String(line.msg));
    expect(
      errors.some((message) =>
        /^destinations\.yaml:11:11: ExportDestination\/vip-newsletter: spec\.listId "not-a-uuid"/.test(
          message,
        ),
      ),
    ).toBe(true);
    expect((await h.store.resources.get('ExportDestination', 'vip-newsletter'))?.spec.listId).toBe(
      '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
    );
    expect((await h.service.status()) as { lastReconcile: { result: string } }).toMatchObject({
      lastReconcile: { result: 'invalid' },
    });

    writeFileSync(
      destinations,
      readFileSync(destinations, 'utf8')
        .replace('listId: not-a-uuid', 'listId: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a')
        .replace('segments: [VIP]', 'segments: [Newsletter]'),
    );
    await eventually(
      async () => (await h.store.resources.get('ExportDestination', 'vip-newsletter'))?.generation === 3,
    );
    expect(await metric(h.metrics, 'exportctl_reconciles_total', 'result="applied"')).toBe('3');
  });

  it('a burst of saves is one reconcile', async () => {
    const h = await harness();
    await h.service.start();
    const platform = join(h.manifests, 'platform.yaml');
    const original = readFileSync(platform, 'utf8');
    for (let index = 0; index < 5; index++)
      writeFileSync(platform, original.replace('"0 */6 * * *"', `"${index} */6 * * *"`));
    await eventually(
      async () => (await h.store.resources.get('Refresh', 'default'))?.spec.cron === '4 */6 * * *',
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await metric(h.metrics, 'exportctl_reconciles_total', 'result="applied"')).toBe('2');
  });

  it('runs a destination on its cron (injected clock) and the dependents of a source whose data changed', async () => {
    const h = await harness();
    await h.service.start();
    // win-back: "0 8 * * 1"; the clock starts Monday 07:59 UTC.
    h.clock.advance(60_000);
    await eventually(() => h.runs.includes('win-back:schedule'));
    // vip-newsletter follows the Refresh ("0 */6 * * *"): next at 12:00.
    h.clock.advance(4 * 3_600_000);
    await eventually(() => h.runs.includes('vip-newsletter:refresh'));

    h.runs.length = 0;
    const profiles = join(h.manifests, 'data', 'profiles.csv');
    copyFileSync(profiles, `${profiles}.new`);
    writeFileSync(
      `${profiles}.new`,
      `${readFileSync(profiles, 'utf8')}C9999999,new.person@example.com,New,Person,US,1.00\n`,
    );
    copyFileSync(`${profiles}.new`, profiles);
    await eventually(() => h.runs.length === 2, 8_000);
    expect(h.runs.sort()).toEqual(['vip-newsletter:refresh', 'win-back:refresh']);
    expect(await metric(h.metrics, 'exportctl_runs_total', 'destination="win-back",result="succeeded"')).toBe(
      '2',
    );
  });

  it('retries a reconcile whose lock is held elsewhere (an apply at its prompt), and becomes ready once it is free', async () => {
    const h = await harness({ lockTimeoutMs: 100 });
    const held = await h.store.locks.acquire(
      CONTROL_PLANE_LOCK,
      { identity: 'someone@example.com', command: 'apply' },
      { timeoutMs: 0 },
    );
    await h.service.start();
    expect(h.service.isReady()).toBe(false);
    expect(await metric(h.metrics, 'exportctl_reconciles_total', 'result="failed"')).toBe('1');
    expect(h.logs().some((line) => String(line.msg).includes('someone@example.com'))).toBe(true);
    await held.release();
    await eventually(() => h.service.isReady());
    expect((await h.store.resources.list()).map((item) => `${item.kind}/${item.name}`)).toHaveLength(6);
  });

  it('stops cleanly when asked while its first reconcile is still running: nothing watches after it', async () => {
    const h = await harness();
    const watchers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'FSEventWrap').length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = watchers();
    const starting = h.service.start();
    await h.service.stop(1_000);
    await starting;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Without the ordering in stop(), the reconcile that ends after it leaves 8 fs watchers open.
    expect(watchers()).toBe(before);
    const reconciles = await metric(h.metrics, 'exportctl_reconciles_total', 'result="applied"');
    // A manifest edit and a data change after the stop: no watcher is left to see them.
    const destinations = join(h.manifests, 'destinations.yaml');
    writeFileSync(
      destinations,
      readFileSync(destinations, 'utf8').replace('segments: [VIP, Newsletter]', 'segments: [VIP]'),
    );
    const profiles = join(h.manifests, 'data', 'profiles.csv');
    writeFileSync(
      profiles,
      `${readFileSync(profiles, 'utf8')}C9999999,late@example.com,Late,Person,US,1.00\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(await metric(h.metrics, 'exportctl_reconciles_total', 'result="applied"')).toBe(reconciles);
    expect(h.runs).toEqual([]);
    expect((await h.store.resources.get('ExportDestination', 'vip-newsletter'))?.spec.segments).toEqual([
      'VIP',
      'Newsletter',
    ]);
  });

  it('says which destination is left unscheduled: schedule refresh without a Refresh applied', async () => {
    const h = await harness();
    const platform = join(h.manifests, 'platform.yaml');
    writeFileSync(platform, readFileSync(platform, 'utf8').split('\n---\n')[0] ?? '');
    await h.service.start();
    expect(h.service.isReady()).toBe(true);
    const warnings = h
      .logs()
      .filter((line) => line.level === 40)
      .map((line) => String(line.msg));
    expect(warnings).toContain(
      'vip-newsletter is not scheduled: schedule: refresh, but no Refresh is applied',
    );
    expect(warnings.some((message) => message.startsWith('win-back'))).toBe(false);
  });

  it('checks drift on its interval under the control-plane lock, and skips a round while another process holds it', async () => {
    const h = await harness({ driftIntervalMs: 150 });
    await h.service.start();
    const held = await h.store.locks.acquire(
      CONTROL_PLANE_LOCK,
      { identity: 'someone@example.com', command: 'apply' },
      { timeoutMs: 0 },
    );
    sandbox?.account.deleteList('04fe9a97-a579-43c5-bb1a-58ed29bf0a6a');
    await eventually(() => h.logs().some((line) => String(line.msg).startsWith('drift check skipped')));
    const stalled = async () =>
      (await h.store.resources.get('ExportDestination', 'vip-newsletter'))?.conditions.find(
        (condition) => condition.type === 'Stalled',
      );
    expect((await stalled())?.status).toBe(false);
    await held.release();
    await eventually(async () => (await stalled())?.status === true);
    expect((await stalled())?.reason).toBe('ListNotFound');
  });

  it('logs a warn line for every retry of its Constant Contact calls', async () => {
    const h = await harness({ driftIntervalMs: 150 });
    await h.service.start();
    sandbox?.setFaults({ unavailable: 1, paths: ['/contact_lists'] });
    await eventually(() =>
      h
        .logs()
        .some(
          (line) =>
            line.event === 'retry' &&
            line.level === 40 &&
            String(line.msg).startsWith('retrying GET /v3/contact_lists in '),
        ),
    );
    sandbox?.setFaults({});
  });
});
