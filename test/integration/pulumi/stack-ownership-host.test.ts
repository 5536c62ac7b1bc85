import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import type { StateStore } from '../../../src/state';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// Two stacks, dev and prod, on one exportctl state (issue #21), through the real dynamic-provider
// host over gRPC: one host per stack, as each stack's `pulumi up` starts its own.
const { exportctlProvider } = builtDynamic();

const DEV = 'acme/exportctl/dev';
const PROD = 'acme/exportctl/prod';

let world: ProviderWorld;
/** A store on the state, for looking inside; opened per test (the world closes it after each). */
let store: StateStore;
const hosts: Record<'dev' | 'prod', ProviderHost> = {} as never;
const serialized = new Map<ManifestKind, string>();

beforeAll(async () => {
  world = await providerWorld();
  for (const kind of ['ProfileSource', 'Connection'] as const) {
    const provider = exportctlProvider(kind);
    serialized.set(kind, (await pulumi.runtime.serializeFunction(() => provider)).text);
  }
  for (const name of ['dev', 'prod'] as const) {
    hosts[name] = await startProviderHost({ env: { PATH: process.env.PATH, ...sandboxSecrets } });
    await hosts[name].configure({ 'exportctl:state': world.stateUrl });
  }
});

afterAll(async () => {
  await hosts.dev?.close();
  await hosts.prod?.close();
});

const urnOf = (stack: string, kind: ManifestKind, name: string) =>
  `urn:pulumi:${stack}::exportctl::pulumi-nodejs:dynamic/exportctl:${kind}::${name}`;

/** A quickstart resource's checked inputs as `stack`'s program sends them (none: before stacks). */
async function checked(host: ProviderHost, id: string, stack: string | undefined) {
  const [kind, name] = id.split('/') as [ManifestKind, string];
  const props = { ...world.props(id), __provider: serialized.get(kind), ...(stack ? { stack } : {}) };
  const result = await host.check(urnOf(stack?.split('/')[2] ?? 'dev', kind, name), {}, props);
  expect(result.failures).toEqual([]);
  return result.inputs;
}

async function snapshot(name: string) {
  return {
    resource: await store.resources.get('Connection', name),
    secrets: await store.secrets.describe(name),
    tokens: await store.tokens.forConnection(name).load(),
    serial: (await store.serial()).serial,
  };
}

describe('two stacks on one state, through the dynamic-provider host', () => {
  it("refuses stack prod a create and a delete of stack dev's connection, with nothing changed", async () => {
    store = await world.openStore();
    const id = 'Connection/marketing-cc';
    const created = await hosts.dev.create(
      urnOf('dev', 'Connection', 'marketing-cc'),
      await checked(hosts.dev, id, DEV),
    );
    expect(created.properties).toMatchObject({ owner: `pulumi:${DEV}`, stack: DEV, status: { ready: true } });
    const before = await snapshot('marketing-cc');
    expect(before.resource?.owner).toBe(`pulumi:${DEV}`);
    const traffic = world.sandbox.stats();

    const prodUrn = urnOf('prod', 'Connection', 'marketing-cc');
    const refusal = {
      code: 2, // grpc UNKNOWN: how the host answers a failed call
      details: expect.stringContaining(`${id} belongs to Pulumi stack ${DEV}; stack ${PROD} may not`),
    };
    await expect(hosts.prod.create(prodUrn, await checked(hosts.prod, id, PROD))).rejects.toMatchObject(
      refusal,
    );
    // prod's outputs, had it once shared the connection: they name prod.
    await expect(
      hosts.prod.delete(id, prodUrn, { ...created.properties, stack: PROD }),
    ).rejects.toMatchObject(refusal);
    expect(await snapshot('marketing-cc')).toEqual(before);
    expect(world.sandbox.stats()).toMatchObject({
      total: traffic.total,
      tokenRequests: traffic.tokenRequests,
    });

    // dev's own destroy still works.
    await hosts.dev.delete(id, urnOf('dev', 'Connection', 'marketing-cc'), created.properties);
    expect(await store.resources.get('Connection', 'marketing-cc')).toBeUndefined();
    expect(hosts.prod.stderr() + hosts.dev.stderr()).not.toContain(sandboxSecrets.CC_CLIENT_SECRET);
  });

  it('gives a legacy `pulumi` resource to the first stack whose pulumi up updates it', async () => {
    store = await world.openStore();
    const id = 'ProfileSource/unified-profiles';
    // Created before stacks were recorded: inputs and outputs without `stack`.
    const legacy = await hosts.dev.create(
      urnOf('dev', 'ProfileSource', 'unified-profiles'),
      await checked(hosts.dev, id, undefined),
    );
    expect(legacy.properties.owner).toBe('pulumi');

    const prodUrn = urnOf('prod', 'ProfileSource', 'unified-profiles');
    const prodInputs = await checked(hosts.prod, id, PROD);
    expect(await hosts.prod.diff(id, prodUrn, legacy.properties, prodInputs)).toMatchObject({
      changes: 'some',
      replaces: [],
    });
    expect((await store.resources.get('ProfileSource', 'unified-profiles'))?.owner).toBe('pulumi');
    const claimed = await hosts.prod.update(id, prodUrn, legacy.properties, prodInputs);
    expect(claimed.properties).toMatchObject({ owner: `pulumi:${PROD}`, stack: PROD, generation: 1 });
    expect(await hosts.prod.diff(id, prodUrn, claimed.properties, prodInputs)).toMatchObject({
      changes: 'none',
    });

    // dev shared it before the upgrade: now its diff and its old outputs' delete are refused.
    const devUrn = urnOf('dev', 'ProfileSource', 'unified-profiles');
    await expect(
      hosts.dev.diff(id, devUrn, legacy.properties, await checked(hosts.dev, id, DEV)),
    ).rejects.toMatchObject({ details: expect.stringContaining(`belongs to Pulumi stack ${PROD}`) });
    await expect(hosts.dev.delete(id, devUrn, legacy.properties)).rejects.toMatchObject({
      details: expect.stringContaining(`belongs to Pulumi stack ${PROD}`),
    });
    expect(await store.resources.get('ProfileSource', 'unified-profiles')).toMatchObject({
      owner: `pulumi:${PROD}`,
      generation: 1,
    });
  });
});
