import { describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import type { StateStore } from '../../../src/state';
import { runExportctl } from '../../support/exportctl-cli';
import { builtDynamic, configOf, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// Two Pulumi stacks on one exportctl state (issue #21): each resource belongs to one stack, and the
// other is refused every call before anything changes. The provider's methods called directly (as
// built in dist/), against the sandbox and a real SQLite state.
const { exportctlProvider } = builtDynamic();
type Provider = ReturnType<typeof exportctlProvider>;
type Props = Parameters<Provider['create']>[0];

const DEV = 'acme/exportctl/dev';
const PROD = 'acme/exportctl/prod';

async function providerFor(world: ProviderWorld, kind: ManifestKind) {
  const provider = exportctlProvider(kind);
  await provider.configure({ config: configOf(world.config) });
  return provider;
}

/** A quickstart resource's inputs as the program of `stack` passes them (none: before stacks). */
function propsOf(world: ProviderWorld, id: string, stack: string | undefined): Props {
  const props = world.props(id, (mutable) => {
    if (id.startsWith('Connection/')) mutable.secretEnv = { ...sandboxSecrets };
  });
  return (stack === undefined ? props : { ...props, stack }) as Props;
}

async function create(provider: Provider, props: Props) {
  const checked = await provider.check({} as Props, props);
  expect(checked.failures).toEqual([]);
  return provider.create(checked.inputs);
}

/** Everything a refused call must leave as it was: the row, its secrets and tokens, the serial. */
async function snapshot(store: StateStore, kind: ManifestKind, name: string) {
  return {
    resource: await store.resources.get(kind, name),
    secrets: kind === 'Connection' ? await store.secrets.describe(name) : [],
    tokens: kind === 'Connection' ? await store.tokens.forConnection(name).load() : undefined,
    serial: (await store.serial()).serial,
  };
}

describe('two Pulumi stacks on one exportctl state', () => {
  it("refuses stack prod every call on stack dev's connection, changing nothing", async () => {
    const world = await providerWorld();
    const store = await world.openStore();
    const provider = await providerFor(world, 'Connection');
    const id = 'Connection/marketing-cc';
    const bare = await provider.check({} as Props, propsOf(world, id, 'dev'));
    expect(bare.failures).toEqual([
      { property: 'stack', reason: expect.stringContaining('<organization>/<project>/<stack>') },
    ]);
    const dev = await create(provider, propsOf(world, id, DEV));
    expect(dev.outs).toMatchObject({ owner: `pulumi:${DEV}`, stack: DEV, status: { ready: true } });
    const before = await snapshot(store, 'Connection', 'marketing-cc');
    expect(before.resource?.owner).toBe(`pulumi:${DEV}`);
    const traffic = world.sandbox.stats();

    const prod = propsOf(world, id, PROD);
    const prodOuts = { ...dev.outs, stack: PROD };
    const prodInputs = (await provider.check({} as Props, prod)).inputs;
    const refusals = {
      create: () => provider.create(prodInputs),
      update: () => provider.update(id, prodOuts, prodInputs),
      diff: () => provider.diff(id, prodOuts, prodInputs),
      delete: () => provider.delete(id, prodOuts),
      read: () => provider.read(id, prodOuts),
    };
    for (const [action, call] of Object.entries(refusals)) {
      const refused = call();
      await expect(refused, action).rejects.toMatchObject({
        name: 'OwnershipError',
        code: 'owned-by-other',
        context: { resource: id, owner: `pulumi:${DEV}`, stack: PROD },
      });
      await expect(refused, action).rejects.toThrow(
        `${id} belongs to Pulumi stack ${DEV}; stack ${PROD} may not ${action} it`,
      );
    }
    expect(await snapshot(store, 'Connection', 'marketing-cc')).toEqual(before);
    // Refused before the handler ran: not one request to Constant Contact.
    expect(world.sandbox.stats()).toMatchObject({
      total: traffic.total,
      tokenRequests: traffic.tokenRequests,
    });

    // Outputs from before stacks were recorded name no stack: they could be any stack's.
    const { stack: _stack, ...unnamed } = dev.outs;
    await expect(provider.delete(id, unnamed as never)).rejects.toMatchObject({ code: 'owned-by-other' });
    expect(await snapshot(store, 'Connection', 'marketing-cc')).toEqual(before);

    // Its own stack goes on working: no change, then delete.
    const devInputs = (await provider.check({} as Props, propsOf(world, id, DEV))).inputs;
    expect(await provider.diff(id, dev.outs, devInputs)).toMatchObject({ changes: false });
    await provider.delete(id, dev.outs);
    expect(await store.resources.get('Connection', 'marketing-cc')).toBeUndefined();
  });

  it('lets the first stack that creates or updates a legacy `pulumi` resource claim it; diff and read only report it', async () => {
    const world = await providerWorld();
    const store = await world.openStore();
    const provider = await providerFor(world, 'ProfileSource');
    const id = 'ProfileSource/unified-profiles';
    // Written by the provider before stacks were recorded: owner `pulumi`, outputs without a stack.
    const legacy = await create(provider, propsOf(world, id, undefined));
    expect(legacy.outs.owner).toBe('pulumi');
    expect(legacy.outs).not.toHaveProperty('stack');

    // After the upgrade, dev's preview shows one change, `stack`; diff and read write nothing.
    const serial = (await store.serial()).serial;
    expect(await provider.diff(id, legacy.outs, propsOf(world, id, DEV))).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
      diffs: ['stack'],
    });
    await provider.read(id, legacy.outs);
    expect((await store.resources.get('ProfileSource', 'unified-profiles'))?.owner).toBe('pulumi');
    expect((await store.serial()).serial).toBe(serial);

    // dev's update claims it (same spec: generation stays 1).
    const claimed = await provider.update(id, legacy.outs, propsOf(world, id, DEV));
    expect(claimed.outs).toMatchObject({ owner: `pulumi:${DEV}`, stack: DEV, generation: 1 });
    expect(await store.resources.get('ProfileSource', 'unified-profiles')).toMatchObject({
      owner: `pulumi:${DEV}`,
      generation: 1,
    });
    expect(await provider.diff(id, claimed.outs, propsOf(world, id, DEV))).toMatchObject({ changes: false });

    // prod, which co-owned it before the upgrade, is now refused; its old outputs cannot delete it.
    await expect(provider.diff(id, legacy.outs, propsOf(world, id, PROD))).rejects.toMatchObject({
      code: 'owned-by-other',
    });
    await expect(provider.delete(id, legacy.outs)).rejects.toMatchObject({ code: 'owned-by-other' });
    expect((await store.resources.get('ProfileSource', 'unified-profiles'))?.owner).toBe(`pulumi:${DEV}`);
  });

  it('exportctl apply skips a stack-owned resource, naming the stack', async () => {
    const world = await providerWorld();
    const store = await world.openStore();
    await create(
      await providerFor(world, 'ProfileSource'),
      propsOf(world, 'ProfileSource/unified-profiles', DEV),
    );
    const applied = await runExportctl(['apply', '--auto-approve', 'profiles.yaml'], {
      cwd: world.folder,
      env: { EXPORTCTL_STATE: world.stateUrl },
    });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`Skipped ProfileSource/unified-profiles: owned by pulumi:${DEV}`);
    const status = await runExportctl(['status'], {
      cwd: world.folder,
      env: { EXPORTCTL_STATE: world.stateUrl },
    });
    expect(status.stdout).toMatch(new RegExp(`ProfileSource/unified-profiles .*pulumi:${DEV}`));
    expect(await store.resources.get('ProfileSource', 'unified-profiles')).toMatchObject({
      owner: `pulumi:${DEV}`,
      generation: 1,
    });
  });
});
