import { expect, it } from 'vitest';
import { OwnershipError, type ResourceToPut, specHash } from '../../../src/state';
import { fakeClock } from '../../support/fake-clock';
import { describeStateStoreContract } from '../../support/state-backends';

const destination: ResourceToPut = {
  kind: 'ExportDestination',
  name: 'vip-newsletter',
  owner: 'exportctl',
  spec: { connection: 'marketing-cc', listId: 'list-1', segments: ['VIP'], dataMatching: { email: 'Email' } },
};

describeStateStoreContract('applied resources', (backend) => {
  it('creates at generation 1 with the spec hash and times', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    const result = await store.resources.put(destination);
    expect(result.change).toBe('created');
    expect(result.resource).toEqual({
      kind: 'ExportDestination',
      name: 'vip-newsletter',
      owner: 'exportctl',
      spec: destination.spec,
      specHash: specHash(destination.spec),
      generation: 1,
      conditions: [],
      remoteFacts: undefined,
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toEqual(result.resource);
    expect(await store.resources.get('ExportDestination', 'other')).toBeUndefined();
  });

  it('bumps the generation only when the spec hash changes', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    await store.resources.put(destination);
    clock.advance(1000);
    const reordered = { ...destination, spec: { dataMatching: { email: 'Email' }, ...destination.spec } };
    const same = await store.resources.put(reordered);
    expect(same.change).toBe('unchanged');
    expect(same.resource.generation).toBe(1);
    expect(same.resource.updatedAt).toBe(clock.now() - 1000);

    const changedSpec = { ...destination.spec, segments: ['VIP', 'Newsletter'] };
    const changed = await store.resources.put({ ...destination, spec: changedSpec });
    expect(changed.change).toBe('updated');
    expect(changed.resource).toMatchObject({
      generation: 2,
      spec: changedSpec,
      specHash: specHash(changedSpec),
    });
    expect(changed.resource.updatedAt).toBe(clock.now());
    expect(changed.resource.createdAt).toBe(clock.now() - 1000);
    expect(
      (await store.resources.put({ ...destination, spec: { ...changedSpec, listId: 'list-2' } })).resource
        .generation,
    ).toBe(3);
  });

  it('lists by kind and owner, ordered by kind then name', async () => {
    const store = await backend.open();
    await store.resources.put({ ...destination, name: 'b-dest' });
    await store.resources.put({ ...destination, name: 'a-dest', owner: 'pulumi' });
    await store.resources.put({
      kind: 'Connection',
      name: 'marketing-cc',
      owner: 'exportctl',
      spec: { type: 'constant-contact' },
    });
    const names = (items: { kind: string; name: string }[]) =>
      items.map((item) => `${item.kind}/${item.name}`);
    expect(names(await store.resources.list())).toEqual([
      'Connection/marketing-cc',
      'ExportDestination/a-dest',
      'ExportDestination/b-dest',
    ]);
    expect(names(await store.resources.list({ kind: 'ExportDestination' }))).toEqual([
      'ExportDestination/a-dest',
      'ExportDestination/b-dest',
    ]);
    expect(names(await store.resources.list({ owner: 'pulumi' }))).toEqual(['ExportDestination/a-dest']);
    expect(names(await store.resources.list({ kind: 'Connection', owner: 'pulumi' }))).toEqual([]);
  });

  it('refuses changes and deletes across owners, and writes nothing then', async () => {
    const store = await backend.open();
    await store.resources.put({ ...destination, owner: 'pulumi' });
    const attempt = store.resources.put({
      ...destination,
      spec: { ...destination.spec, listId: 'hijacked' },
    });
    await expect(attempt).rejects.toBeInstanceOf(OwnershipError);
    await expect(attempt).rejects.toMatchObject({
      code: 'owned-by-other',
      context: { kind: 'ExportDestination', name: 'vip-newsletter', owner: 'pulumi', writer: 'exportctl' },
    });
    // Even an unchanged spec is refused: the writer does not own it.
    await expect(store.resources.put(destination)).rejects.toMatchObject({ code: 'owned-by-other' });
    await expect(
      store.resources.delete('ExportDestination', 'vip-newsletter', 'exportctl'),
    ).rejects.toMatchObject({
      code: 'owned-by-other',
    });
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toMatchObject({
      owner: 'pulumi',
      generation: 1,
      spec: { listId: 'list-1' },
    });
    expect(await store.resources.delete('ExportDestination', 'vip-newsletter', 'pulumi')).toBe(true);
    expect(await store.resources.delete('ExportDestination', 'vip-newsletter', 'pulumi')).toBe(false);
  });

  it("keeps each Pulumi stack's resources apart, and lets a stack claim a legacy `pulumi` one", async () => {
    const store = await backend.open();
    const dev = 'pulumi:acme/exportctl/dev' as const;
    const prod = 'pulumi:acme/exportctl/prod' as const;
    expect((await store.resources.put({ ...destination, owner: dev })).resource.owner).toBe(dev);
    for (const writer of [prod, 'pulumi', 'exportctl'] as const) {
      await expect(
        store.resources.put({ ...destination, owner: writer, spec: { ...destination.spec, listId: 'x' } }),
      ).rejects.toMatchObject({ code: 'owned-by-other', context: { owner: dev, writer } });
      await expect(
        store.resources.delete('ExportDestination', 'vip-newsletter', writer),
      ).rejects.toMatchObject({
        code: 'owned-by-other',
      });
    }
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toMatchObject({
      owner: dev,
      generation: 1,
      spec: { listId: 'list-1' },
    });
    expect((await store.resources.list({ owner: dev })).map((item) => item.name)).toEqual(['vip-newsletter']);
    expect(await store.resources.list({ owner: 'pulumi' })).toEqual([]);

    // A legacy owner: the first stack that writes it takes it, even with an unchanged spec.
    const legacy = { ...destination, name: 'win-back', owner: 'pulumi' } as const;
    await store.resources.put(legacy);
    const claimed = await store.resources.put({ ...legacy, owner: prod });
    expect(claimed).toMatchObject({ change: 'unchanged', resource: { owner: prod, generation: 1 } });
    await expect(store.resources.put({ ...legacy, owner: dev })).rejects.toMatchObject({
      code: 'owned-by-other',
    });
    expect(await store.resources.delete('ExportDestination', 'win-back', prod)).toBe(true);
  });

  it('merges conditions by type, moving lastTransitionTime only on a status change', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    await store.resources.put(destination);
    const t0 = clock.now();
    await store.resources.setConditions('ExportDestination', 'vip-newsletter', [
      { type: 'Reconciling', status: true, reason: 'Applying', message: 'creating' },
      { type: 'Ready', status: false, reason: 'Applying', message: 'not yet' },
    ]);
    clock.advance(5000);
    await store.resources.put({ ...destination, spec: { ...destination.spec, listId: 'list-2' } });
    const conditions = await store.resources.setConditions('ExportDestination', 'vip-newsletter', [
      { type: 'Ready', status: false, reason: 'ListNotFound', message: 'list-2 does not exist' },
      { type: 'Stalled', status: true, reason: 'ListNotFound', message: 'fix listId' },
    ]);
    expect(conditions).toEqual([
      {
        type: 'Ready',
        status: false,
        reason: 'ListNotFound',
        message: 'list-2 does not exist',
        lastTransitionTime: t0,
        observedGeneration: 2,
      },
      {
        type: 'Reconciling',
        status: true,
        reason: 'Applying',
        message: 'creating',
        lastTransitionTime: t0,
        observedGeneration: 1,
      },
      {
        type: 'Stalled',
        status: true,
        reason: 'ListNotFound',
        message: 'fix listId',
        lastTransitionTime: t0 + 5000,
        observedGeneration: 2,
      },
    ]);
    clock.advance(1000);
    await store.resources.setConditions('ExportDestination', 'vip-newsletter', [
      { type: 'Ready', status: true, reason: 'Reconciled', message: 'ok' },
    ]);
    const ready = (await store.resources.get('ExportDestination', 'vip-newsletter'))?.conditions.find(
      (c) => c.type === 'Ready',
    );
    expect(ready).toMatchObject({ status: true, lastTransitionTime: t0 + 6000 });
  });

  it('records remote facts with the time they were read; status writes need the resource', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    await store.resources.put({ ...destination, owner: 'pulumi' });
    // Status is observation, not desired state: either owner's process may record it.
    const facts = await store.resources.setRemoteFacts('ExportDestination', 'vip-newsletter', {
      listName: 'VIP newsletter',
      memberCount: 1234,
    });
    expect(facts).toEqual({ facts: { listName: 'VIP newsletter', memberCount: 1234 }, readAt: clock.now() });
    expect((await store.resources.get('ExportDestination', 'vip-newsletter'))?.remoteFacts).toEqual(facts);
    await expect(store.resources.setRemoteFacts('ExportDestination', 'absent', {})).rejects.toMatchObject({
      code: 'resource-not-found',
    });
    await expect(store.resources.setConditions('Connection', 'absent', [])).rejects.toMatchObject({
      code: 'resource-not-found',
    });
  });
});
