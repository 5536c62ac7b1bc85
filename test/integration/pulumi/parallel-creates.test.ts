import * as pulumi from '@pulumi/pulumi';
import { afterEach, describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { vipListId, winBackListId } from '../../support/sandbox-client';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// What `pulumi up` does with many new destinations: the engine's default parallelism is unbounded,
// so once their connection and source exist it sends every Create to the one dynamic-provider host
// at once. Each verifies its list against Constant Contact, here the sandbox at Constant Contact's
// own 4 requests/second, and stores the destination under the control-plane lock, which a create
// waits `exportctl:lockTimeout` for (60 s by default; the stack config sets none here).
//
// Verifying while holding the lock made the creates take the lock one at a time, for one
// rate-limited request each: the last of N waited N / 4 s. 100 took 25 s; 300 lost 68 creates to
// lock-timeout at 60 s. Now a destination verifies before the lock (the lock is held only to check
// the state again and store), and creates that ask for the connection's listing while another is
// waiting for it share its answer, so the requests, and the time, stay far below one per create.
// EXPORTCTL_TEST_DESTINATIONS and EXPORTCTL_TEST_LOCK_TIMEOUT (seconds) run one size and wait, to measure.
const REQUESTS_PER_SECOND = 4;
const sizes = process.env.EXPORTCTL_TEST_DESTINATIONS
  ? [Number(process.env.EXPORTCTL_TEST_DESTINATIONS)]
  : [100, 300];
const lockTimeout = process.env.EXPORTCTL_TEST_LOCK_TIMEOUT;

const { exportctlProvider } = builtDynamic();

let sandbox: SandboxHandle | undefined;
let host: ProviderHost | undefined;
afterEach(async () => {
  await host?.close();
  await sandbox?.close();
});

const urnOf = (kind: ManifestKind, name: string) =>
  `urn:pulumi:test::exportctl::pulumi-nodejs:dynamic/exportctl:${kind}::${name}`;

describe('destinations created in parallel, as one pulumi up does', () => {
  it.each(sizes)(
    '%i of them, at 4 requests/second: all created, none timing out on the lock',
    async (count) => {
      sandbox = await startSandbox({
        port: 0,
        activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
        clientLimits: { requestsPerSecond: REQUESTS_PER_SECOND },
      });
      const world = await providerWorld({}, { sandbox });
      const serialized = new Map<ManifestKind, string>();
      for (const kind of ['ProfileSource', 'Connection', 'ExportDestination'] as const) {
        const provider = exportctlProvider(kind);
        serialized.set(kind, (await pulumi.runtime.serializeFunction(() => provider)).text);
      }
      const started = await startProviderHost({ env: { PATH: process.env.PATH, ...sandboxSecrets } });
      host = started;
      await started.configure({
        'exportctl:state': world.stateUrl,
        'exportctl:actor': 'ops@example.com',
        ...(lockTimeout === undefined ? {} : { 'exportctl:lockTimeout': lockTimeout }),
      });
      const checked = async (
        kind: ManifestKind,
        id: string,
        change?: Parameters<ProviderWorld['props']>[1],
      ) => {
        const news = { ...world.props(id, change), __provider: serialized.get(kind) };
        const name = (news.metadata as { name: string }).name;
        const result = await started.check(urnOf(kind, name), {}, news);
        expect(result.failures).toEqual([]);
        return { urn: urnOf(kind, name), inputs: result.inputs };
      };
      for (const [kind, id] of [
        ['ProfileSource', 'ProfileSource/unified-profiles'],
        ['Connection', 'Connection/marketing-cc'],
      ] as const) {
        const { urn, inputs } = await checked(kind, id);
        await started.create(urn, inputs);
      }

      const names = Array.from({ length: count }, (_, index) => `dest-${String(index).padStart(3, '0')}`);
      const listOf = (index: number) => (index % 2 === 0 ? vipListId : winBackListId);
      // The engine checks each resource as the program registers it, then creates them all at once.
      const destinations = await Promise.all(
        names.map((name, index) =>
          checked('ExportDestination', 'ExportDestination/vip-newsletter', (props) => {
            props.metadata = { name };
            props.spec.listId = listOf(index);
          }),
        ),
      );
      const before = sandbox.requests().length;
      const startedAt = performance.now();
      const outcomes = await Promise.allSettled(
        destinations.map(({ urn, inputs }) => started.create(urn, inputs)),
      );
      const seconds = (performance.now() - startedAt) / 1000;
      const requests = sandbox.requests().slice(before);
      const failures = outcomes.flatMap((outcome) =>
        outcome.status === 'rejected'
          ? [(outcome.reason as { details?: string }).details ?? String(outcome.reason)]
          : [],
      );
      console.log(
        `${count} parallel creates at ${REQUESTS_PER_SECOND} req/s, lock wait ${lockTimeout ?? 'default'}: ` +
          `${seconds.toFixed(1)} s, ${failures.length} failed${failures[0] ? ` (the first: ${failures[0].slice(0, 120)})` : ''}, ` +
          `${requests.length} Constant Contact requests (${requests.filter((request) => request.status === 429).length} answered 429)`,
      );

      expect(failures.slice(0, 3)).toEqual([]);
      for (const [index, outcome] of outcomes.entries()) {
        expect(outcome).toMatchObject({
          status: 'fulfilled',
          value: { id: `ExportDestination/${names[index]}`, properties: { owner: 'pulumi', generation: 1 } },
        });
      }
      const store = await world.openStore();
      const stored = await store.resources.list({ kind: 'ExportDestination' });
      expect(stored.map((destination) => destination.name).sort()).toEqual(names);
      for (const [index, name] of names.entries()) {
        const applied = stored.find((destination) => destination.name === name);
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
      expect(await store.locks.list()).toEqual([]);
      // One request per create is what queued them; concurrent creates share a listing instead.
      expect(requests.length).toBeLessThan(count / 2);
    },
    180_000,
  );
});
