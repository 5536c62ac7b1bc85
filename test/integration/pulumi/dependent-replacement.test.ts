import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestKind } from '../../../src/config';
import { defaultSeedFile, readSandboxSeed, type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { type ProviderHost, startProviderHost } from './provider-host';
import {
  builtDynamic,
  type MutableProps,
  type ProviderWorld,
  providerWorld,
  sandboxSecrets,
} from './provider-world';

// The real dynamic-provider host driven over gRPC in the order the Pulumi engine calls it when a
// `pulumi up` replaces a Connection (pkg/resource/deploy/step_generator.go): the Connection's Diff
// says replace, delete-before-replace; for each resource that depends on it the engine calls Diff
// with the old inputs, every property with a property dependency on the Connection set unknown
// (`spec` for a destination of the program), and replaces those that answer with `replaces`: it
// deletes them first, in reverse dependency order, then the Connection, then creates the
// Connection and, as the program registers them again, the destinations. Previews go through the
// same Diff with the values not known yet.
const { exportctlProvider, UNKNOWN_VALUE } = builtDynamic();

/** A second OAuth client of the same account, for a connection that changes `spec.auth.clientId`. */
const otherClient = {
  clientId: 'sandbox-client-2',
  clientSecret: 'sandbox-secret-2',
  refreshToken: 'sandbox-refresh-token-2',
} as const;

/** A third, for a connection whose client ID is an `{env}` reference. */
const envClient = {
  clientId: 'sandbox-client-3',
  clientSecret: 'sandbox-secret-3',
  refreshToken: 'sandbox-refresh-token-3',
} as const;

const SOURCE = 'ProfileSource/unified-profiles';
const CONNECTION = 'Connection/marketing-cc';
const VIP = 'ExportDestination/vip-newsletter';
const WIN_BACK = 'ExportDestination/win-back';

let sandbox: SandboxHandle;
let world: ProviderWorld;
let host: ProviderHost;
const serialized = new Map<ManifestKind, string>();
/** Every answer the host gave, to look for secrets in. */
const answers: unknown[] = [];
/** What the engine keeps of each applied resource: its checked inputs and its outputs. */
const applied = new Map<string, { inputs: Record<string, unknown>; outputs: Record<string, unknown> }>();

const kindOf = (id: string) => id.split('/')[0] as ManifestKind;
const urnOf = (id: string) =>
  `urn:pulumi:test::exportctl::pulumi-nodejs:dynamic/exportctl:${kindOf(id)}::${id.split('/')[1]}`;

/** A quickstart resource's inputs with its serialized provider, as the program registers them. */
function news(id: string, change?: (props: MutableProps) => void): Record<string, unknown> {
  return { ...world.props(id, change), __provider: serialized.get(kindOf(id)) };
}

async function checked(id: string, inputs: Record<string, unknown>) {
  const result = await host.check(urnOf(id), applied.get(id)?.inputs ?? {}, inputs);
  answers.push(result);
  expect(result.failures).toEqual([]);
  return result.inputs;
}

async function created(id: string, inputs: Record<string, unknown>) {
  const result = await host.create(urnOf(id), inputs);
  answers.push(result);
  expect(result.id).toBe(id);
  applied.set(id, { inputs, outputs: result.properties });
  return result.properties;
}

async function diff(id: string, inputs: Record<string, unknown>) {
  const old = applied.get(id);
  if (!old) throw new Error(`${id} is not applied`);
  const result = await host.diff(id, urnOf(id), old.outputs, inputs);
  answers.push(result);
  return result;
}

beforeAll(async () => {
  const seed = readSandboxSeed(defaultSeedFile());
  sandbox = await startSandbox({
    port: 0,
    seed: {
      ...seed,
      clients: [
        ...seed.clients,
        ...[otherClient, envClient].map((client) => ({
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          refreshTokens: [client.refreshToken],
        })),
      ],
    },
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 100 },
  });
  world = await providerWorld({}, { sandbox });
  for (const kind of ['ProfileSource', 'Connection', 'ExportDestination'] as const) {
    const provider = exportctlProvider(kind);
    serialized.set(kind, (await pulumi.runtime.serializeFunction(() => provider)).text);
  }
  host = await startProviderHost({
    env: {
      PATH: process.env.PATH,
      ...sandboxSecrets,
      CC_CLIENT_SECRET_2: otherClient.clientSecret,
      CC_REFRESH_TOKEN_2: otherClient.refreshToken,
      CC_CLIENT_ID_3: envClient.clientId,
      CC_CLIENT_SECRET_3: envClient.clientSecret,
      CC_REFRESH_TOKEN_3: envClient.refreshToken,
    },
  });
  await host.configure({ 'exportctl:state': world.stateUrl, 'exportctl:actor': 'ops@example.com' });
  // The first `pulumi up`: everything created, in dependency order.
  for (const id of [SOURCE, CONNECTION, VIP, WIN_BACK]) await created(id, await checked(id, news(id)));
});

afterAll(async () => {
  await host?.close();
  await sandbox?.close();
});

describe('the engine’s calls when values are not known yet, and when a connection is replaced', () => {
  it('a preview’s diff is a replacement exactly when an unknown value may change a field that forces one', async () => {
    const unknownAt = (id: string, change: (props: MutableProps) => void) =>
      checked(id, news(id, change)).then((inputs) => diff(id, inputs));
    const update = { changes: 'some', replaces: [], deleteBeforeReplace: false };

    expect(
      await unknownAt(VIP, (props) => {
        props.spec.listId = UNKNOWN_VALUE;
      }),
    ).toEqual({ changes: 'some', replaces: ['spec.listId'], deleteBeforeReplace: true });
    expect(
      await unknownAt(VIP, (props) => {
        props.spec.segments = UNKNOWN_VALUE;
      }),
    ).toEqual(update);
    expect(
      await unknownAt(VIP, (props) => {
        props.spec.connection = UNKNOWN_VALUE;
      }),
    ).toEqual({ changes: 'some', replaces: ['spec.connection'], deleteBeforeReplace: true });
    // A known field that forces a replacement still counts beside an unknown one.
    expect(
      await unknownAt(VIP, (props) => {
        props.spec.segments = UNKNOWN_VALUE;
        props.spec.listId = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';
      }),
    ).toEqual({ changes: 'some', replaces: ['spec.listId'], deleteBeforeReplace: true });
    // A name not known yet may be a new entry of the state: replaced, the new one first.
    expect(
      await unknownAt(VIP, (props) => {
        props.metadata = { name: UNKNOWN_VALUE };
      }),
    ).toEqual({ changes: 'some', replaces: ['metadata.name'], deleteBeforeReplace: false });

    expect(
      await unknownAt(CONNECTION, (props) => {
        (props.spec.endpoints as Record<string, unknown>).api = UNKNOWN_VALUE;
      }),
    ).toEqual({ changes: 'some', replaces: ['spec.endpoints.api'], deleteBeforeReplace: true });
    expect(
      await unknownAt(CONNECTION, (props) => {
        props.spec.auth = UNKNOWN_VALUE;
      }),
    ).toEqual({ changes: 'some', replaces: ['spec.auth'], deleteBeforeReplace: true });
    expect(
      await unknownAt(CONNECTION, (props) => {
        props.spec.displayName = UNKNOWN_VALUE;
      }),
    ).toEqual(update);
    // A value of `secretEnv` not known yet may be the client ID that an `{env}` reference names.
    const envConnection = (secretEnv: unknown) =>
      news(CONNECTION, (props) => {
        props.metadata = { name: 'env-cc' };
        props.spec.auth = {
          clientId: { env: 'CC_CLIENT_ID_3' },
          clientSecret: { env: 'CC_CLIENT_SECRET_3' },
          refreshToken: { env: 'CC_REFRESH_TOKEN_3' },
        };
        if (secretEnv !== undefined) props.secretEnv = secretEnv as Record<string, string>;
      });
    const ENV_CC = 'Connection/env-cc';
    expect(await created(ENV_CC, await checked(ENV_CC, envConnection(undefined)))).toMatchObject({
      status: { ready: true },
    });
    expect(await diff(ENV_CC, await checked(ENV_CC, envConnection(UNKNOWN_VALUE)))).toEqual({
      changes: 'some',
      replaces: ['secretEnv'],
      deleteBeforeReplace: true,
    });
    expect(
      await diff(ENV_CC, await checked(ENV_CC, envConnection({ CC_CLIENT_ID_3: UNKNOWN_VALUE }))),
    ).toEqual({ changes: 'some', replaces: ['secretEnv.CC_CLIENT_ID_3'], deleteBeforeReplace: true });
    expect(
      await diff(ENV_CC, await checked(ENV_CC, envConnection({ CC_CLIENT_SECRET_3: UNKNOWN_VALUE }))),
    ).toEqual(update);
    await host.delete(ENV_CC, urnOf(ENV_CC), applied.get(ENV_CC)?.outputs ?? {});
    applied.delete(ENV_CC);

    // A ProfileSource has no field that forces a replacement.
    expect(
      await unknownAt(SOURCE, (props) => {
        props.spec.key = UNKNOWN_VALUE;
      }),
    ).toEqual(update);
  });

  it('replacing a connection replaces its destinations: deleted first, in reverse dependency order, then created again', async () => {
    const store = await world.openStore();
    const requestsBefore = sandbox.requests().length;
    // The program now declares the connection with another OAuth client of the account.
    const connectionInputs = await checked(
      CONNECTION,
      news(CONNECTION, (props) => {
        props.spec.auth = {
          clientId: otherClient.clientId,
          clientSecret: { env: 'CC_CLIENT_SECRET_2' },
          refreshToken: { env: 'CC_REFRESH_TOKEN_2' },
        };
      }),
    );
    expect(await diff(CONNECTION, connectionInputs)).toEqual({
      changes: 'some',
      replaces: ['spec.auth.clientId'],
      deleteBeforeReplace: true,
    });
    // What the engine did when the destinations depended on it through `dependsOn` only: the
    // connection deleted under them, refused, and the `pulumi up` stopped half-way.
    await expect(
      host.delete(CONNECTION, urnOf(CONNECTION), applied.get(CONNECTION)?.outputs ?? {}),
    ).rejects.toMatchObject({ details: expect.stringContaining('still use it') });

    // Delete-before-replace: each dependent's Diff with the old inputs, `spec` (the property that
    // depends on the connection) unknown.
    const dependents = [VIP, WIN_BACK];
    for (const id of dependents) {
      expect(await diff(id, { ...applied.get(id)?.inputs, spec: UNKNOWN_VALUE })).toEqual({
        changes: 'some',
        replaces: ['spec'],
        deleteBeforeReplace: true,
      });
    }
    for (const id of [...dependents].reverse()) {
      await host.delete(id, urnOf(id), applied.get(id)?.outputs ?? {});
    }
    await host.delete(CONNECTION, urnOf(CONNECTION), applied.get(CONNECTION)?.outputs ?? {});
    expect((await store.resources.list()).map((item) => `${item.kind}/${item.name}`)).toEqual([SOURCE]);

    // Then the creates: the connection, and the destinations as the program registers them again.
    expect(await created(CONNECTION, connectionInputs)).toMatchObject({
      owner: 'pulumi',
      spec: { auth: { clientId: otherClient.clientId } },
      status: { ready: true },
    });
    for (const id of dependents) {
      expect(await created(id, await checked(id, news(id)))).toMatchObject({
        owner: 'pulumi',
        generation: 1,
        spec: { connection: 'marketing-cc' },
        status: { ready: true },
      });
    }
    expect(
      (await store.resources.list()).map((item) => `${item.kind}/${item.name} ${item.owner}`).sort(),
    ).toEqual([CONNECTION, VIP, WIN_BACK, SOURCE].map((id) => `${id} pulumi`).sort());
    expect(await store.resources.get('Connection', 'marketing-cc')).toMatchObject({
      spec: { auth: { clientId: otherClient.clientId } },
    });
    expect(await store.resources.get('ExportDestination', 'win-back')).toMatchObject({
      remoteFacts: { facts: { listName: 'Win-back' } },
    });
    // The connection and the destinations' list checks now go through the other client.
    const clients = sandbox
      .requests()
      .slice(requestsBefore)
      .map((request) => request.clientId);
    expect([...new Set(clients.filter((clientId) => clientId !== undefined))]).toEqual([
      otherClient.clientId,
    ]);
  });

  it('never answers with a secret value', () => {
    const everything = JSON.stringify(answers) + host.stderr();
    expect(answers.length).toBeGreaterThan(15);
    for (const value of [
      ...Object.values(sandboxSecrets),
      otherClient.clientSecret,
      otherClient.refreshToken,
      envClient.clientSecret,
      envClient.refreshToken,
    ])
      expect(everything).not.toContain(value);
  });
});
