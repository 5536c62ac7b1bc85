import * as pulumi from '@pulumi/pulumi';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { CONTROL_PLANE_LOCK, type LockHandle, type StateStore } from '../../../src/state';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// A destination's create checks Constant Contact before it takes the control-plane lock, then,
// holding it, checks again against the state as it is by then: what changed while it waited (the
// resource taken by exportctl apply, its source deleted) is found under the lock, and nothing is
// stored. Here the test holds the lock, lets the create verify, changes the state, and lets go.
const { exportctlProvider } = builtDynamic();

let sandbox: SandboxHandle;
let world: ProviderWorld;
let host: ProviderHost;
let store: StateStore;
const serialized = new Map<ManifestKind, string>();

beforeEach(async () => {
  sandbox = await startSandbox({
    port: 0,
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 100 },
  });
  world = await providerWorld({}, { sandbox });
  for (const kind of ['ProfileSource', 'Connection', 'ExportDestination'] as const) {
    const provider = exportctlProvider(kind);
    serialized.set(kind, (await pulumi.runtime.serializeFunction(() => provider)).text);
  }
  host = await startProviderHost({ env: { PATH: process.env.PATH, ...sandboxSecrets } });
  await host.configure({ ...world.config, 'exportctl:lockTimeout': '30' });
  store = await world.openStore();
  for (const id of ['ProfileSource/unified-profiles', 'Connection/marketing-cc']) await created(id);
});

afterEach(async () => {
  await host?.close();
  await sandbox?.close();
});

const urnOf = (kind: ManifestKind, name: string) =>
  `urn:pulumi:test::exportctl::pulumi-nodejs:dynamic/exportctl:${kind}::${name}`;

async function checked(id: string): Promise<Record<string, unknown>> {
  const [kind, name] = id.split('/') as [ManifestKind, string];
  const result = await host.check(
    urnOf(kind, name),
    {},
    { ...world.props(id), __provider: serialized.get(kind) },
  );
  expect(result.failures).toEqual([]);
  return result.inputs;
}

async function created(id: string) {
  const [kind, name] = id.split('/') as [ManifestKind, string];
  return host.create(urnOf(kind, name), await checked(id));
}

/** Starts the destination's create while the test holds the lock; resolves once it has verified. */
async function createWaitingOnTheLock(): Promise<{ lock: LockHandle; create: Promise<unknown> }> {
  const lock = await store.locks.acquire(CONTROL_PLANE_LOCK, {
    identity: 'ops@example.com',
    command: 'apply',
  });
  const inputs = await checked('ExportDestination/vip-newsletter');
  const listings = () =>
    sandbox.requests().filter((request) => request.path.endsWith('/contact_lists')).length;
  const before = listings();
  const create = host.create(urnOf('ExportDestination', 'vip-newsletter'), inputs);
  create.catch(() => undefined);
  // Bounded: a create that verified only under the lock never asks while the test holds it.
  for (let waited = 0; listings() === before; waited += 50) {
    if (waited > 10_000) throw new Error('the create did not verify before taking the lock');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { lock, create };
}

describe('a destination verified before the lock', () => {
  it('is refused under the lock when exportctl apply took it meanwhile, and exportctl keeps it', async () => {
    const { lock, create } = await createWaitingOnTheLock();
    const spec = { ...world.props('ExportDestination/vip-newsletter').spec, segments: ['VIP'] };
    await store.resources.put({
      kind: 'ExportDestination',
      name: 'vip-newsletter',
      owner: 'exportctl',
      spec,
    });
    await lock.release();

    await expect(create).rejects.toMatchObject({ details: expect.stringContaining('managed by exportctl') });
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toMatchObject({
      owner: 'exportctl',
      generation: 1,
      spec: { segments: ['VIP'] },
    });
  });

  it('is checked again under the lock: its source deleted meanwhile fails it, and nothing is stored', async () => {
    const { lock, create } = await createWaitingOnTheLock();
    await store.resources.delete('ProfileSource', 'unified-profiles', 'pulumi');
    await lock.release();

    await expect(create).rejects.toMatchObject({
      details: expect.stringContaining('ProfileSource/unified-profiles is not applied'),
    });
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toBeUndefined();
  });

  it('holds the lock only to store: it is created once the lock is free, from the answer it read', async () => {
    const { lock, create } = await createWaitingOnTheLock();
    const requests = sandbox.requests().length;
    await lock.release();

    await expect(create).resolves.toMatchObject({ id: 'ExportDestination/vip-newsletter' });
    // The check repeated under the lock answered from the listing read before it: no request.
    expect(sandbox.requests().slice(requests)).toEqual([]);
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toMatchObject({
      owner: 'pulumi',
    });
  });
});
