import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';

// Layer 3: the real dynamic-provider host of @pulumi/pulumi, started as the engine starts it and
// driven over gRPC as the engine drives it (Configure, Check, Diff, Create, Read, Update, Delete),
// with the serialized provider in `__provider`. The secrets come from the host's environment.
const { exportctlProvider } = builtDynamic();

let sandbox: SandboxHandle;
let world: ProviderWorld;
let host: ProviderHost;
const serialized = new Map<ManifestKind, string>();
/** Every answer the host gave, to look for secrets in. */
const answers: unknown[] = [];

beforeAll(async () => {
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
  host = await startProviderHost({
    env: { PATH: process.env.PATH, ...sandboxSecrets },
  });
  // The engine sends the whole stack config, namespaced (the host hands it to configure()).
  await host.configure({ 'exportctl:state': world.stateUrl, 'exportctl:actor': 'ops@example.com' });
});

afterAll(async () => {
  await host?.close();
  await sandbox?.close();
});

const urnOf = (kind: ManifestKind, name: string) =>
  `urn:pulumi:test::exportctl::pulumi-nodejs:dynamic/exportctl:${kind}::${name}`;
const kindOf = (id: string) => id.split('/')[0] as ManifestKind;
const nameOf = (id: string) => id.split('/')[1] ?? '';

/** A quickstart resource's inputs with its serialized provider, as the engine sends them. */
function news(id: string, change?: Parameters<ProviderWorld['props']>[1]): Record<string, unknown> {
  return { ...world.props(id, change), __provider: serialized.get(kindOf(id)) };
}

async function checked(id: string, change?: Parameters<ProviderWorld['props']>[1]) {
  const result = await host.check(urnOf(kindOf(id), nameOf(id)), {}, news(id, change));
  answers.push(result);
  expect(result.failures).toEqual([]);
  return result.inputs;
}

async function create(id: string, inputs: Record<string, unknown>) {
  const created = await host.create(urnOf(kindOf(id), nameOf(id)), inputs);
  answers.push(created);
  return created;
}

describe('the dynamic-provider host, driven over gRPC', () => {
  it('round-trips check failures and the checked inputs', async () => {
    const bad = await host.check(
      urnOf('ExportDestination', 'vip-newsletter'),
      {},
      news('ExportDestination/vip-newsletter', (props) => {
        props.spec.listId = 'not-a-uuid';
        props.spec.dataMatching = {};
        props.spec.schedule = '61 * * * *';
      }),
    );
    expect(bad.failures.map((failure) => failure.property).sort()).toEqual([
      'spec.dataMatching.email',
      'spec.listId',
    ]);
    expect(bad.failures.every((failure) => failure.reason.length > 0)).toBe(true);

    const rules = await host.check(
      urnOf('ExportDestination', 'vip-newsletter'),
      {},
      news('ExportDestination/vip-newsletter', (props) => {
        props.spec.schedule = '61 * * * *';
      }),
    );
    expect(rules.failures).toEqual([
      { property: 'spec.schedule', reason: expect.stringContaining('not refresh, manual or a valid cron') },
    ]);

    const inputs = await checked('ExportDestination/win-back');
    expect(inputs).toMatchObject({
      apiVersion: 'exportctl/v1',
      kind: 'ExportDestination',
      spec: { removal: 'remove-from-list', schedule: '0 8 * * 1' },
      __provider: serialized.get('ExportDestination'),
    });
  });

  it('create -> diff -> update -> replace -> delete, against the sandbox and the state', async () => {
    const store = await world.openStore();
    const source = await create(
      'ProfileSource/unified-profiles',
      await checked('ProfileSource/unified-profiles'),
    );
    const connection = await create('Connection/marketing-cc', await checked('Connection/marketing-cc'));
    expect(connection).toMatchObject({
      id: 'Connection/marketing-cc',
      properties: { owner: 'pulumi', status: { ready: true } },
    });
    const vipId = 'ExportDestination/vip-newsletter';
    const vipUrn = urnOf('ExportDestination', 'vip-newsletter');
    const vip = await create(vipId, await checked(vipId));
    expect(vip.properties).toMatchObject({
      owner: 'pulumi',
      generation: 1,
      remoteFacts: { listName: 'VIP and newsletter' },
      __provider: serialized.get('ExportDestination'),
    });

    expect(await host.diff(vipId, vipUrn, vip.properties, await checked(vipId))).toEqual({
      changes: 'none',
      replaces: [],
      deleteBeforeReplace: false,
    });
    const oneSegment = await checked(vipId, (props) => {
      props.spec.segments = ['VIP'];
    });
    expect(await host.diff(vipId, vipUrn, vip.properties, oneSegment)).toEqual({
      changes: 'some',
      replaces: [],
      deleteBeforeReplace: false,
    });
    const updated = await host.update(vipId, vipUrn, vip.properties, oneSegment);
    answers.push(updated);
    expect(updated.properties).toMatchObject({ generation: 2, spec: { segments: ['VIP'] } });

    const otherList = await checked(vipId, (props) => {
      props.spec.segments = ['VIP'];
      props.spec.listId = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';
    });
    expect(await host.diff(vipId, vipUrn, updated.properties, otherList)).toEqual({
      changes: 'some',
      replaces: ['spec.listId'],
      deleteBeforeReplace: true,
    });
    // What the engine does for a delete-before-replace.
    await host.delete(vipId, vipUrn, updated.properties);
    const replaced = await create(vipId, otherList);
    expect(replaced.properties).toMatchObject({ generation: 1, remoteFacts: { listName: 'Win-back' } });
    expect(await store.resources.get('ExportDestination', 'vip-newsletter')).toMatchObject({
      owner: 'pulumi',
      spec: { listId: '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34' },
    });

    const read = await host.read(vipId, vipUrn, replaced.properties);
    answers.push(read);
    expect(read).toMatchObject({ id: vipId, properties: { status: { ready: true, reason: 'Verified' } } });

    // A second destination on a list that does not exist: refused, and nothing of it stored.
    const missing = await checked('ExportDestination/win-back', (props) => {
      props.spec.listId = '00000000-0000-4000-8000-000000000000';
    });
    await expect(host.create(urnOf('ExportDestination', 'win-back'), missing)).rejects.toMatchObject({
      code: 2, // grpc UNKNOWN: the host's answer for a failed create
      details: expect.stringContaining('does not exist'),
    });
    expect(await store.resources.get('ExportDestination', 'win-back')).toBeUndefined();

    for (const [id, properties] of [
      [vipId, replaced.properties],
      ['Connection/marketing-cc', connection.properties],
      ['ProfileSource/unified-profiles', source.properties],
    ] as const) {
      await host.delete(id, urnOf(kindOf(id), nameOf(id)), properties);
    }
    expect(await store.resources.list()).toEqual([]);
    expect(await host.read(vipId, vipUrn, replaced.properties)).toMatchObject({ id: '' });
  });

  it('a create that fails leaves nothing behind', async () => {
    const store = await world.openStore();
    const inputs = await checked('Connection/marketing-cc', (props) => {
      props.metadata = { name: 'refused-cc' };
      (props.spec.auth as Record<string, unknown>).clientId = 'not-a-client';
    });
    await expect(host.create(urnOf('Connection', 'refused-cc'), inputs)).rejects.toMatchObject({ code: 2 });
    expect(await store.resources.get('Connection', 'refused-cc')).toBeUndefined();
    expect(await store.secrets.describe('refused-cc')).toEqual([]);
    expect(await store.tokens.forConnection('refused-cc').load()).toBeUndefined();
  });

  it('never answers with a secret value', () => {
    const everything = JSON.stringify(answers) + host.stderr();
    expect(answers.length).toBeGreaterThan(10);
    for (const value of Object.values(sandboxSecrets)) expect(everything).not.toContain(value);
  });
});
