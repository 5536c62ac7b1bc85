import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { vipListId, winBackListId } from '../../support/sandbox-client';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// What `pulumi up` does with 100 new destinations: the engine's default parallelism is unbounded,
// so once their connection and source exist it sends all 100 Creates to the one dynamic-provider
// host at once. Each verifies its list against Constant Contact, here the sandbox at Constant
// Contact's own 4 requests/second, and stores the destination under the control-plane lock, which
// a create waits `exportctl:lockTimeout` for (60 s by default).
//
// Verifying while holding the lock made the creates take the lock one at a time for one
// rate-limited request each: the last waited DESTINATIONS / 4 s (25 s here), so about 240 of them
// exhausted the default 60 s. The lock wait here is 10 s, which 100 such creates exceed as 240 exceed
// the default; verified before the lock, the lock is held only to store, and none waits long.
// EXPORTCTL_TEST_DESTINATIONS and EXPORTCTL_TEST_LOCK_TIMEOUT (seconds) change both, to measure.
const DESTINATIONS = Number(process.env.EXPORTCTL_TEST_DESTINATIONS ?? 100);
const LOCK_TIMEOUT_SECONDS = process.env.EXPORTCTL_TEST_LOCK_TIMEOUT ?? '10';
const REQUESTS_PER_SECOND = 4;

const { exportctlProvider } = builtDynamic();

let sandbox: SandboxHandle;
let world: ProviderWorld;
let host: ProviderHost;
const serialized = new Map<ManifestKind, string>();

beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: REQUESTS_PER_SECOND },
  });
  world = await providerWorld({}, { sandbox });
  for (const kind of ['ProfileSource', 'Connection', 'ExportDestination'] as const) {
    const provider = exportctlProvider(kind);
    serialized.set(kind, (await pulumi.runtime.serializeFunction(() => provider)).text);
  }
  host = await startProviderHost({ env: { PATH: process.env.PATH, ...sandboxSecrets } });
  await host.configure({
    'exportctl:state': world.stateUrl,
    'exportctl:actor': 'ops@example.com',
    'exportctl:lockTimeout': LOCK_TIMEOUT_SECONDS,
  });
});

afterAll(async () => {
  await host?.close();
  await sandbox?.close();
});

const urnOf = (kind: ManifestKind, name: string) =>
  `urn:pulumi:test::exportctl::pulumi-nodejs:dynamic/exportctl:${kind}::${name}`;

async function checkedCreate(kind: ManifestKind, id: string, change?: Parameters<ProviderWorld['props']>[1]) {
  const news = { ...world.props(id, change), __provider: serialized.get(kind) };
  const name = (news.metadata as { name: string }).name;
  const checked = await host.check(urnOf(kind, name), {}, news);
  expect(checked.failures).toEqual([]);
  return host.create(urnOf(kind, name), checked.inputs);
}

function failuresOf(outcomes: readonly PromiseSettledResult<unknown>[]): string[] {
  return outcomes.flatMap((outcome) =>
    outcome.status === 'rejected'
      ? [(outcome.reason as { details?: string }).details ?? String(outcome.reason)]
      : [],
  );
}

describe('100 destinations in one pulumi up', () => {
  it('are all created in parallel at 4 requests/second, none timing out on the lock', async () => {
    await checkedCreate('ProfileSource', 'ProfileSource/unified-profiles');
    await checkedCreate('Connection', 'Connection/marketing-cc');
    const names = Array.from(
      { length: DESTINATIONS },
      (_, index) => `dest-${String(index).padStart(3, '0')}`,
    );
    const listOf = (index: number) => (index % 2 === 0 ? vipListId : winBackListId);
    const before = sandbox.requests().length;

    const started = performance.now();
    const outcomes = await Promise.allSettled(
      names.map((name, index) =>
        checkedCreate('ExportDestination', 'ExportDestination/vip-newsletter', (props) => {
          props.metadata = { name };
          props.spec.listId = listOf(index);
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const requests = sandbox.requests().slice(before);
    console.log(
      `${DESTINATIONS} parallel creates at ${REQUESTS_PER_SECOND} req/s, lock wait ${LOCK_TIMEOUT_SECONDS} s: ${seconds.toFixed(1)} s, ${failuresOf(outcomes).length} failed, ` +
        `${requests.length} Constant Contact requests (${requests.filter((request) => request.status === 429).length} answered 429)`,
    );

    expect(failuresOf(outcomes).slice(0, 3)).toEqual([]);

    const store = await world.openStore();
    const destinations = await store.resources.list({ kind: 'ExportDestination' });
    expect(destinations.map((destination) => destination.name).sort()).toEqual(names);
    for (const [index, name] of names.entries()) {
      const applied = destinations.find((destination) => destination.name === name);
      expect(applied).toMatchObject({
        owner: 'pulumi',
        generation: 1,
        spec: { connection: 'marketing-cc', source: 'unified-profiles', listId: listOf(index) },
        remoteFacts: {
          facts: { listId: listOf(index), listName: index % 2 === 0 ? 'VIP and newsletter' : 'Win-back' },
        },
      });
      expect(applied?.conditions.find((condition) => condition.type === 'Ready')).toMatchObject({
        status: true,
        reason: 'Verified',
      });
    }
    for (const [index, outcome] of outcomes.entries()) {
      expect(outcome).toMatchObject({
        status: 'fulfilled',
        value: { id: `ExportDestination/${names[index]}`, properties: { owner: 'pulumi', generation: 1 } },
      });
    }
    expect(await store.locks.list()).toEqual([]);
  }, 180_000);
});
