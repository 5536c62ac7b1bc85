import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeedFile, readSandboxSeed, type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, providerWorld, sandboxSecrets } from './provider-world';
import { type ProgramRegistration, runPulumiProgram } from './test-engine';

// Two `pulumi up`s of the program, run by Pulumi's Node.js runtime against the test engine, applied
// through the real dynamic-provider host; the second, after the connection's client ID changed in
// its manifest, follows the engine's delete-before-replace: which dependents to replace is computed
// as the engine computes it (pkg/resource/deploy/step_generator.go, calculateDependentReplacements)
// from what the program registered, not assumed: a dependent's Diff is asked with the old inputs,
// every property whose recorded property dependencies name a replaced resource set unknown, and a
// dependent without such a property is never asked, and never replaced.
const { UNKNOWN_VALUE } = builtDynamic();

const otherClient = {
  clientId: 'sandbox-client-2',
  clientSecret: 'sandbox-secret-2',
  refreshToken: 'sandbox-refresh-token-2',
} as const;

/** What the test engine's checkpoint keeps of an applied resource. */
interface AppliedState {
  readonly registration: ProgramRegistration;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
  readonly outputs: Record<string, unknown>;
}

let sandbox: SandboxHandle | undefined;
let host: ProviderHost | undefined;
afterAll(async () => {
  await host?.close();
  await sandbox?.close();
});

describe('replacing a connection, as the engine decides it from the program’s registrations', () => {
  it('replaces the destinations with their connection: deleted first, created again', async () => {
    const seed = readSandboxSeed(defaultSeedFile());
    sandbox = await startSandbox({
      port: 0,
      seed: {
        ...seed,
        clients: [
          ...seed.clients,
          {
            clientId: otherClient.clientId,
            clientSecret: otherClient.clientSecret,
            refreshTokens: [otherClient.refreshToken],
          },
        ],
      },
      activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
      clientLimits: { requestsPerSecond: 100 },
    });
    const world = await providerWorld({}, { sandbox });
    const config = { 'exportctl:manifests': world.folder, 'exportctl:actor': 'ops@example.com' };
    host = await startProviderHost({
      env: {
        PATH: process.env.PATH,
        ...sandboxSecrets,
        CC_CLIENT_SECRET_2: otherClient.clientSecret,
        CC_REFRESH_TOKEN_2: otherClient.refreshToken,
      },
    });
    await host.configure({ 'exportctl:state': world.stateUrl });
    const provider = host;

    // The first `pulumi up`: every resource created, in registration order.
    const first = await runPulumiProgram({ config });
    expect(first.code).toBe(0);
    const checkpoint = new Map<string, AppliedState>();
    for (const registration of first.registrations.filter((item) => item.custom)) {
      const { inputs, failures } = await provider.check(registration.urn, {}, registration.inputs);
      expect(failures).toEqual([]);
      const { id, properties } = await provider.create(registration.urn, inputs);
      checkpoint.set(registration.urn, { registration, id, inputs, outputs: properties });
    }

    // The connection moves to another OAuth client of the account.
    const manifest = join(world.folder, 'connection.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8')
        .replace('clientId: sandbox-client', `clientId: ${otherClient.clientId}`)
        .replace('{ env: CC_CLIENT_SECRET }', '{ env: CC_CLIENT_SECRET_2 }')
        .replace('{ env: CC_REFRESH_TOKEN }', '{ env: CC_REFRESH_TOKEN_2 }'),
    );
    const second = await runPulumiProgram({ config });
    expect(second.code).toBe(0);
    const registered = (name: string) => {
      const found = second.registrations.find((item) => item.custom && item.name === name);
      if (!found) throw new Error(`${name} was not registered`);
      return found;
    };
    const connection = registered('marketing-cc');
    const old = checkpoint.get(connection.urn);
    if (!old) throw new Error('the connection is not in the checkpoint');
    const checked = await provider.check(connection.urn, old.inputs, connection.inputs);
    expect(checked.failures).toEqual([]);
    expect(await provider.diff(old.id, connection.urn, old.outputs, checked.inputs)).toEqual({
      changes: 'some',
      replaces: ['spec.auth.clientId'],
      deleteBeforeReplace: true,
    });

    // calculateDependentReplacements, over the checkpoint's dependents in dependency order.
    const replaceSet = new Set([connection.urn]);
    const toReplace: AppliedState[] = [];
    for (const state of checkpoint.values()) {
      if (!state.registration.dependencies.some((urn) => replaceSet.has(urn))) continue;
      const dependentKeys = Object.entries(state.registration.propertyDependencies)
        .filter(([, urns]) => urns.some((urn) => replaceSet.has(urn)))
        .map(([key]) => key);
      if (dependentKeys.length === 0) continue;
      const inputsForDiff = {
        ...state.inputs,
        ...Object.fromEntries(dependentKeys.map((key) => [key, UNKNOWN_VALUE])),
      };
      const answer = await provider.diff(state.id, state.registration.urn, state.outputs, inputsForDiff);
      if (answer.replaces.length === 0) continue;
      toReplace.push(state);
      replaceSet.add(state.registration.urn);
    }
    expect(toReplace.map((state) => state.id).sort()).toEqual([
      'ExportDestination/vip-newsletter',
      'ExportDestination/win-back',
    ]);
    // Deletes in reverse dependency order, the connection last: none refused.
    for (const state of [...toReplace].reverse())
      await provider.delete(state.id, state.registration.urn, state.outputs);
    await provider.delete(old.id, connection.urn, old.outputs);
    // Then the creates, the destinations as the program registered them again.
    expect((await provider.create(connection.urn, checked.inputs)).properties).toMatchObject({
      spec: { auth: { clientId: otherClient.clientId } },
      status: { ready: true },
    });
    for (const state of toReplace) {
      const again = registered(state.registration.name);
      const recheck = await provider.check(again.urn, state.inputs, again.inputs);
      expect(recheck.failures).toEqual([]);
      expect((await provider.create(again.urn, recheck.inputs)).properties).toMatchObject({
        generation: 1,
        status: { ready: true },
      });
    }

    const store = await world.openStore();
    expect(
      (await store.resources.list()).map((item) => `${item.kind}/${item.name} ${item.owner}`).sort(),
    ).toEqual(
      [
        'Access/default',
        'Connection/marketing-cc',
        'ExportDestination/vip-newsletter',
        'ExportDestination/win-back',
        'ProfileSource/unified-profiles',
        'Refresh/default',
        // Owned by the stack that made them (the test engine names no organization: the default).
      ].map((id) => `${id} pulumi:organization/exportctl/dev`),
    );
    expect(await store.resources.get('Connection', 'marketing-cc')).toMatchObject({
      spec: { auth: { clientId: otherClient.clientId } },
    });
  });
});
