import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import { runExportctl } from '../../support/exportctl-cli';
import { builtDynamic, configOf, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// Layer 1: the provider's methods called directly (as built in dist/, which is what they require),
// against the sandbox over real HTTP and a real SQLite state.
const { exportctlProvider, UNKNOWN_VALUE } = builtDynamic();
type Provider = ReturnType<typeof exportctlProvider>;
type Props = Parameters<Provider['create']>[0];

async function providerFor(world: ProviderWorld, kind: ManifestKind, config: Record<string, string> = {}) {
  const provider = exportctlProvider(kind);
  await provider.configure({ config: configOf({ ...world.config, ...config }) });
  return provider;
}

/** check, then create with the checked inputs: what the engine does. */
async function create(provider: Provider, props: Props) {
  const checked = await provider.check({} as Props, props);
  expect(checked.failures).toEqual([]);
  return provider.create(checked.inputs);
}

const kindOf = (id: string) => id.split('/')[0] as ManifestKind;
const withSecrets = (props: { secretEnv?: Record<string, string> }) => {
  props.secretEnv = { ...sandboxSecrets };
};

describe('the dynamic provider, called directly (sandbox + SQLite)', () => {
  it('creates, diffs, updates, replaces and deletes through the handlers, as owner pulumi', async () => {
    const world = await providerWorld();
    const ids = [
      'Access/default',
      'Refresh/default',
      'ProfileSource/unified-profiles',
      'Connection/marketing-cc',
      'ExportDestination/vip-newsletter',
      'ExportDestination/win-back',
    ];
    const outs = new Map<string, Awaited<ReturnType<Provider['create']>>>();
    for (const id of ids) {
      const props = world.props(id, id.startsWith('Connection/') ? withSecrets : undefined);
      const created = await create(await providerFor(world, kindOf(id)), props);
      expect(created.id).toBe(id);
      expect(created.outs.owner).toBe('pulumi');
      expect(created.outs.status).toMatchObject({ ready: true });
      outs.set(id, created);
    }

    const store = await world.openStore();
    expect(
      (await store.resources.list()).map((item) => `${item.kind}/${item.name} ${item.owner}`).sort(),
    ).toEqual(ids.map((id) => `${id} pulumi`).sort());
    const connection = outs.get('Connection/marketing-cc')?.outs;
    const stored = await store.secrets.describe('marketing-cc');
    expect(connection?.secretFingerprints).toEqual(
      Object.fromEntries(stored.map((secret) => [secret.name, secret.fingerprint])),
    );
    expect(Object.keys(connection?.secretFingerprints ?? {})).toEqual(['clientSecret', 'refreshToken']);
    expect(await store.tokens.forConnection('marketing-cc').load()).toBeDefined();
    expect(outs.get('ExportDestination/vip-newsletter')?.outs.remoteFacts).toEqual({
      listId: '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
      listName: 'VIP and newsletter',
      membershipCount: 0,
    });
    // Paths as written (relative to the manifest); the folder they start from is a fact beside them.
    expect(outs.get('ProfileSource/unified-profiles')?.outs.spec.profiles).toBe('data/profiles.csv');
    expect(outs.get('ProfileSource/unified-profiles')?.outs.remoteFacts).toEqual({ folder: world.folder });
    const everything = JSON.stringify([...outs.values()]);
    for (const value of Object.values(sandboxSecrets)) expect(everything).not.toContain(value);

    // No change, then a change in place, then one that changes the remote identity.
    const destination = await providerFor(world, 'ExportDestination');
    const vipId = 'ExportDestination/vip-newsletter';
    const vipOuts = outs.get(vipId)?.outs as Awaited<ReturnType<Provider['create']>>['outs'];
    const checkedVip = async (change: (props: { spec: Record<string, unknown> }) => void) =>
      (await destination.check({} as Props, world.props(vipId, change))).inputs;
    expect(await destination.diff(vipId, vipOuts, await checkedVip(() => {}))).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
      diffs: [],
    });
    const fewerSegments = await checkedVip((props) => {
      props.spec.segments = ['VIP'];
    });
    expect(await destination.diff(vipId, vipOuts, fewerSegments)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
      diffs: ['spec.segments'],
    });
    const updated = await destination.update(vipId, vipOuts, fewerSegments);
    expect(updated.outs.generation).toBe(2);
    expect((await store.resources.get('ExportDestination', 'vip-newsletter'))?.spec.segments).toEqual([
      'VIP',
    ]);

    const otherList = await checkedVip((props) => {
      props.spec.listId = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';
    });
    expect(await destination.diff(vipId, updated.outs, otherList)).toEqual({
      changes: true,
      replaces: ['spec.listId'],
      deleteBeforeReplace: true,
      diffs: ['spec.listId', 'spec.segments'],
    });
    // Pulumi's delete-before-replace: the old one goes, then the new one is created.
    await destination.delete(vipId, updated.outs);
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toBeUndefined();
    const replaced = await destination.create(otherList);
    expect(replaced.outs.generation).toBe(1);
    expect(replaced.outs.remoteFacts).toMatchObject({ listName: 'Win-back' });
    expect(await destination.read(vipId, replaced.outs)).toMatchObject({
      id: vipId,
      props: { status: { ready: true, reason: 'Verified' }, spec: { segments: ['VIP', 'Newsletter'] } },
    });

    // Destroy, destinations first (Pulumi's order: dependents before what they depend on).
    for (const id of [...ids].reverse()) {
      const provider = await providerFor(world, kindOf(id));
      await provider.delete(id, (outs.get(id) ?? replaced).outs);
      expect(await provider.read(id, (outs.get(id) ?? replaced).outs)).toEqual({ id: '' });
    }
    expect(await store.resources.list()).toEqual([]);
    expect(await store.secrets.describe('marketing-cc')).toEqual([]);
    expect(await store.tokens.forConnection('marketing-cc').load()).toBeUndefined();
  });

  it("names a secret's new value by its field, never by value, and replaces a connection on a new API endpoint", async () => {
    const world = await providerWorld();
    const id = 'Connection/marketing-cc';
    const provider = await providerFor(world, 'Connection');
    const { outs } = await create(provider, world.props(id, withSecrets));
    const rotated = (
      await provider.check(
        {} as Props,
        world.props(id, (props) => {
          props.secretEnv = { ...sandboxSecrets, CC_CLIENT_SECRET: 'rotated-client-secret-value' };
        }),
      )
    ).inputs;
    const diff = await provider.diff(id, outs, rotated);
    expect(diff).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
      diffs: ['spec.auth.clientSecret'],
    });
    expect(JSON.stringify(diff)).not.toContain('rotated-client-secret-value');

    const moved = (
      await provider.check(
        {} as Props,
        world.props(id, (props) => {
          withSecrets(props);
          (props.spec.endpoints as Record<string, string>).api = 'https://api.cc.email/v3';
        }),
      )
    ).inputs;
    expect(await provider.diff(id, outs, moved)).toEqual({
      changes: true,
      replaces: ['spec.endpoints.api'],
      deleteBeforeReplace: true,
      diffs: ['spec.endpoints.api'],
    });
  });

  it('leaves nothing behind when a create fails its verification', async () => {
    const world = await providerWorld();
    for (const id of ['ProfileSource/unified-profiles', 'Connection/marketing-cc']) {
      await create(
        await providerFor(world, kindOf(id)),
        world.props(id, id.startsWith('Connection/') ? withSecrets : undefined),
      );
    }
    const store = await world.openStore();

    const destination = await providerFor(world, 'ExportDestination');
    await expect(
      create(
        destination,
        world.props('ExportDestination/vip-newsletter', (props) => {
          props.spec.listId = '00000000-0000-4000-8000-000000000000';
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceVerificationError', code: 'list-not-found' });
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toBeUndefined();

    const connection = await providerFor(world, 'Connection');
    await expect(
      create(
        connection,
        world.props('Connection/marketing-cc', (props) => {
          props.metadata = { name: 'other-cc' };
          props.secretEnv = { ...sandboxSecrets, CC_CLIENT_SECRET: 'wrong-secret' };
        }),
      ),
    ).rejects.toMatchObject({ name: 'AuthError', code: 'invalid-client' });
    expect(await store.resources.get('Connection', 'other-cc')).toBeUndefined();
    expect(await store.secrets.describe('other-cc')).toEqual([]);
    expect(await store.tokens.forConnection('other-cc').load()).toBeUndefined();
  });

  it('returns schema and rule problems as failures named by field, and never judges unknown values', async () => {
    const world = await providerWorld();
    const connection = exportctlProvider('Connection');
    const checked = await connection.check(
      {} as Props,
      world.props('Connection/marketing-cc', (props) => {
        props.metadata = { name: 'Not_A_Name' };
        props.spec.dataPrivacyConsent = false;
        props.spec.endpoints = { api: 'http://cc.example.com/v3', token: 'https://authz.example.com/token' };
        props.spec.auth = { clientId: 'x', clientSecret: 'literal-secret-value', refreshToken: { env: 'R' } };
        props.secretEnv = { 'NOT A NAME': 'x' };
        (props as Record<string, unknown>).colour = 'blue';
      }),
    );
    expect(checked.failures.map((failure) => failure.property).sort()).toEqual([
      'colour',
      'metadata.name',
      'secretEnv.NOT A NAME',
      'spec.auth.clientSecret',
    ]);
    expect(JSON.stringify(checked.failures)).not.toContain('literal-secret-value');

    // The rules run once the schema passes.
    const rules = await connection.check(
      {} as Props,
      world.props('Connection/marketing-cc', (props) => {
        props.spec.dataPrivacyConsent = false;
        props.spec.endpoints = { api: 'http://cc.example.com/v3', token: 'https://authz.example.com/token' };
      }),
    );
    expect(rules.failures).toEqual([
      {
        property: 'spec.dataPrivacyConsent',
        reason: expect.stringContaining('dataPrivacyConsent must be true'),
      },
      { property: 'spec.endpoints.api', reason: expect.stringContaining('plain http to cc.example.com') },
    ]);

    const destination = exportctlProvider('ExportDestination');
    const valid = await destination.check({} as Props, world.props('ExportDestination/win-back'));
    expect(valid.failures).toEqual([]);
    expect(valid.inputs).toMatchObject({ apiVersion: 'exportctl/v1', kind: 'ExportDestination' });
    expect(valid.inputs.spec).toMatchObject({ removal: 'remove-from-list', maxRemovalPercent: 20 });

    // A preview with another resource's output not known yet.
    const unknown = world.props('ExportDestination/win-back', (props) => {
      props.spec.connection = UNKNOWN_VALUE;
      props.spec.listId = 'not-a-uuid';
    });
    expect(
      (await destination.check({} as Props, unknown)).failures.map((failure) => failure.property),
    ).toEqual(['spec.listId']);
    const configured = await providerFor(world, 'ExportDestination');
    // The unknown connection may be another one, which forces a replacement; so does the known list.
    expect(await configured.diff('ExportDestination/win-back', valid.inputs as never, unknown)).toEqual({
      changes: true,
      replaces: ['spec.connection', 'spec.listId'],
      deleteBeforeReplace: true,
      diffs: ['spec.connection', 'spec.listId'],
    });
  });

  it('refuses resources that exportctl owns, and exportctl apply leaves what Pulumi owns alone', async () => {
    const world = await providerWorld();
    const store = await world.openStore();
    const source = await providerFor(world, 'ProfileSource');
    const props = world.props('ProfileSource/unified-profiles');
    const { outs } = await create(source, props);

    // exportctl apply on the same state and manifest: skipped, untouched.
    const applied = await runExportctl(['apply', '--auto-approve', 'profiles.yaml'], {
      cwd: world.folder,
      env: { EXPORTCTL_STATE: world.stateUrl },
    });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Skipped ProfileSource/unified-profiles: owned by pulumi');
    expect(await store.resources.get('ProfileSource', 'unified-profiles')).toMatchObject({
      owner: 'pulumi',
      generation: 1,
    });

    // The reverse: a resource exportctl owns is refused by every call that could change it.
    await store.resources.delete('ProfileSource', 'unified-profiles', 'pulumi');
    await store.resources.put({
      kind: 'ProfileSource',
      name: 'unified-profiles',
      owner: 'exportctl',
      spec: { ...outs.spec, key: 'Other' },
    });
    const owned = { name: 'OwnershipError', code: 'owned-by-other' };
    await expect(source.create(props)).rejects.toMatchObject(owned);
    await expect(source.update('ProfileSource/unified-profiles', outs, props)).rejects.toMatchObject(owned);
    await expect(source.diff('ProfileSource/unified-profiles', outs, props)).rejects.toMatchObject(owned);
    await expect(source.delete('ProfileSource/unified-profiles', outs)).rejects.toMatchObject(owned);
    expect(await store.resources.get('ProfileSource', 'unified-profiles')).toMatchObject({
      owner: 'exportctl',
      generation: 1,
      spec: { key: 'Other' },
    });
  });

  it('refuses to delete a connection that a destination still uses', async () => {
    const world = await providerWorld();
    const created = new Map<string, Awaited<ReturnType<Provider['create']>>>();
    for (const id of [
      'ProfileSource/unified-profiles',
      'Connection/marketing-cc',
      'ExportDestination/win-back',
    ]) {
      created.set(
        id,
        await create(
          await providerFor(world, kindOf(id)),
          world.props(id, id.startsWith('Connection/') ? withSecrets : undefined),
        ),
      );
    }
    const connection = await providerFor(world, 'Connection');
    await expect(
      connection.delete('Connection/marketing-cc', created.get('Connection/marketing-cc')?.outs as never),
    ).rejects.toMatchObject({ name: 'ResourceVerificationError', code: 'resource-in-use' });
    const store = await world.openStore();
    expect(await store.resources.get('Connection', 'marketing-cc')).toBeDefined();
  });

  it('waits for the control-plane lock and names its holder', async () => {
    const world = await providerWorld({ 'exportctl:lockTimeout': '0' });
    const store = await world.openStore();
    const held = await store.locks.acquire('control-plane', {
      identity: 'ops@example.com',
      command: 'apply',
    });
    const source = await providerFor(world, 'ProfileSource');
    const props = world.props('ProfileSource/unified-profiles');
    const refused = source.create(props);
    await expect(refused).rejects.toMatchObject({ name: 'LockTimeoutError', code: 'lock-timeout' });
    await expect(refused).rejects.toThrow(/ops@example\.com running `apply`/);
    expect(await store.resources.get('ProfileSource', 'unified-profiles')).toBeUndefined();
    await held.release();
    await expect(create(source, props)).resolves.toMatchObject({ id: 'ProfileSource/unified-profiles' });
    expect(await store.locks.holder('control-plane')).toBeUndefined();
  });

  it('read re-checks the remote side and records what it finds', async () => {
    const world = await providerWorld();
    const source = await providerFor(world, 'ProfileSource');
    const { id, outs } = await create(source, world.props('ProfileSource/unified-profiles'));
    rmSync(join(world.folder, 'data', 'profiles.csv'));
    const read = await source.read(id, outs);
    expect(read).toMatchObject({ id, props: { status: { ready: false, reason: 'SourceUnreadable' } } });
    const store = await world.openStore();
    const ready = (await store.resources.get('ProfileSource', 'unified-profiles'))?.conditions.find(
      (condition) => condition.type === 'Ready',
    );
    expect(ready).toMatchObject({ status: false, reason: 'SourceUnreadable' });
  });
});
