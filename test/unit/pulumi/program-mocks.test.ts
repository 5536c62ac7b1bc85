import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type AnyManifestResource,
  declareManifests,
  ManifestsInvalidError,
  readStackSettings,
  runProgram,
} from '../../../provider/program';
import { Connection, ExportDestination, ProfileSource, typeTokenOf } from '../../../provider/resources';
import { repoRoot, runExportctl } from '../../support/exportctl-cli';

// Layer 4: the program, under pulumi.runtime.setMocks (no engine, no provider call). What the
// engine would receive is read from the mock monitor's registerResource requests.

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly inputs: Record<string, unknown>;
  readonly dependencies: string[];
  /** Per input property, the URNs its value came from. */
  readonly propertyDependencies: Record<string, string[]>;
  readonly additionalSecretOutputs: string[];
}

/** The protobuf request the SDK sends to the monitor (the parts read here). */
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(callback: (urns: { getUrnsList(): string[] }, property: string) => void): void;
  };
  getAdditionalsecretoutputsList(): string[];
}

const exampleStack = join(repoRoot, 'config-examples', 'pulumi', '.stack', 'Pulumi.dev.yaml');
const exampleConfig = (parse(readFileSync(exampleStack, 'utf8')) as { config: Record<string, string> })
  .config;
const urnOf = (type: string, name: string) => `urn:pulumi:test::exportctl::${type}::${name}`;

/** Mocks with the given stack config; every registration is recorded. */
async function mocked(config: Record<string, string>, secretKeys: string[] = []): Promise<Registration[]> {
  const registrations: Registration[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
      call: (args) => args.inputs,
    },
    'exportctl',
    'test',
    false,
  );
  pulumi.runtime.setAllConfig(config, secretKeys);
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterResourceRequest, callback: unknown): void;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    registrations.push({
      type: request.getType(),
      name: request.getName(),
      urn: urnOf(request.getType(), request.getName()),
      inputs: request.getObject()?.toJavaScript() ?? {},
      dependencies: request.getDependenciesList(),
      propertyDependencies: propertyDependenciesOf(request),
      additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
    });
    register(request, callback);
  };
  return registrations;
}

function propertyDependenciesOf(request: RegisterResourceRequest): Record<string, string[]> {
  const dependencies: Record<string, string[]> = {};
  request.getPropertydependenciesMap().forEach((urns, property) => {
    dependencies[property] = urns.getUrnsList();
  });
  return dependencies;
}

function resolvedValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Waits until every resource is registered (its URN resolved). */
async function registered(resources: Iterable<AnyManifestResource>): Promise<void> {
  await Promise.all([...resources].map((resource) => resolvedValue(resource.urn)));
}

const secretSignature = { [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig };

describe('the Pulumi program (setMocks)', () => {
  it('declares one resource per manifest of the example stack, typed, named and wired', async () => {
    const registrations = await mocked(exampleConfig);
    const { resources } = declareManifests(readStackSettings());
    await registered(resources.values());

    expect(registrations.map((item) => `${item.type} ${item.name}`)).toEqual([
      'pulumi-nodejs:dynamic/exportctl:Access default',
      'pulumi-nodejs:dynamic/exportctl:Refresh default',
      'pulumi-nodejs:dynamic/exportctl:ProfileSource unified-profiles',
      'pulumi-nodejs:dynamic/exportctl:Connection marketing-cc',
      'pulumi-nodejs:dynamic/exportctl:ExportDestination vip-newsletter',
      'pulumi-nodejs:dynamic/exportctl:ExportDestination win-back',
    ]);
    expect([...resources.keys()]).toEqual([
      'Access/default',
      'Refresh/default',
      'ProfileSource/unified-profiles',
      'Connection/marketing-cc',
      'ExportDestination/vip-newsletter',
      'ExportDestination/win-back',
    ]);
    const byName = (type: string, name: string) => {
      const found = registrations.find(
        (item) => item.type === typeTokenOf(type as never) && item.name === name,
      );
      if (!found) throw new Error(`${type}/${name} was not registered`);
      return found;
    };

    const connection = urnOf(typeTokenOf('Connection'), 'marketing-cc');
    const source = urnOf(typeTokenOf('ProfileSource'), 'unified-profiles');
    for (const name of ['vip-newsletter', 'win-back']) {
      expect(byName('ExportDestination', name).dependencies.sort()).toEqual([connection, source].sort());
      // What makes replacing the connection replace the destination (see declareManifests).
      expect(byName('ExportDestination', name).propertyDependencies.spec?.sort()).toEqual(
        [connection, source].sort(),
      );
    }
    for (const [type, name] of [
      ['Access', 'default'],
      ['ProfileSource', 'unified-profiles'],
      ['Connection', 'marketing-cc'],
    ] as const) {
      expect(byName(type, name).dependencies).toEqual([]);
    }

    // The manifest as written, where it came from, and the serialized provider.
    const winBack = byName('ExportDestination', 'win-back').inputs;
    expect(winBack).toMatchObject({
      apiVersion: 'exportctl/v1',
      kind: 'ExportDestination',
      metadata: { name: 'win-back' },
      spec: { connection: 'marketing-cc', schedule: 'manual', maxRemovalPercent: 20 },
      manifestFile: join(repoRoot, 'config-examples', 'pulumi', 'manifests', 'destinations.yaml'),
    });
    expect(winBack.spec).not.toHaveProperty('dataMatching.lastName');
    expect(String(winBack.__provider)).toMatch(/^exports\.handler = /);
    expect(String(winBack.__provider)).toContain('kind: "ExportDestination"');

    // Outputs are declared, not fields: the Resource constructor's Outputs survive.
    const marketing = resources.get('Connection/marketing-cc');
    expect(pulumi.Output.isInstance(marketing?.metadata)).toBe(true);
    expect(await resolvedValue(marketing?.metadata as pulumi.Output<unknown>)).toEqual({
      name: 'marketing-cc',
      labels: { 'managed-by': 'pulumi' },
    });

    // Without exportctl:secretEnv, no secret input; the secret outputs are named all the same.
    const marketingRegistration = byName('Connection', 'marketing-cc');
    expect(marketingRegistration.inputs).not.toHaveProperty('secretEnv');
    expect(marketingRegistration.additionalSecretOutputs).toEqual(['secretEnv', 'secretFingerprints']);
  });

  it('feeds stack config secrets to a connection as a secret input, only the variables it names', async () => {
    const registrations = await mocked(
      {
        ...exampleConfig,
        'exportctl:secretEnv': JSON.stringify({
          CC_CLIENT_SECRET: 'config-client-secret',
          CC_REFRESH_TOKEN: 'config-refresh-token',
          UNRELATED_TOKEN: 'not-for-this-connection',
        }),
      },
      ['exportctl:secretEnv'],
    );
    const { resources } = declareManifests(readStackSettings());
    await registered(resources.values());
    const connection = registrations.find((item) => item.type === typeTokenOf('Connection'));
    expect(connection?.inputs.secretEnv).toEqual({
      ...secretSignature,
      value: { CC_CLIENT_SECRET: 'config-client-secret', CC_REFRESH_TOKEN: 'config-refresh-token' },
    });
    expect(connection?.additionalSecretOutputs).toEqual(['secretEnv', 'secretFingerprints']);
    for (const other of registrations.filter((item) => item !== connection)) {
      expect(JSON.stringify(other.inputs)).not.toContain('config-client-secret');
    }
  });

  it('validates exactly as exportctl validate does, and declares nothing when that fails', async () => {
    const manifests = join('config-examples', 'pulumi', 'manifests');
    const registrations = await mocked({ ...exampleConfig, 'exportctl:actor': 'analyst@example.com' });
    let failure: unknown;
    try {
      runProgram();
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(ManifestsInvalidError);
    const problems = (failure as ManifestsInvalidError).problems;
    expect((failure as ManifestsInvalidError).code).toBe('manifests-invalid');
    expect((failure as { __pulumiRunError?: boolean }).__pulumiRunError).toBe(true);

    const cli = await runExportctl(['validate', '--output', 'json', manifests], {
      env: { EXPORTCTL_ACTOR: 'analyst@example.com' },
    });
    expect(cli.code).toBe(1);
    const validated = (JSON.parse(cli.stdout) as { problems: Record<string, unknown>[] }).problems;
    expect(validated.length).toBeGreaterThan(0);
    expect(
      problems.map((problem) => [
        problem.code,
        problem.severity,
        problem.resource,
        problem.line,
        problem.column,
      ]),
    ).toEqual(
      validated.map((problem) => [
        problem.code,
        problem.severity,
        problem.resource,
        problem.line,
        problem.column,
      ]),
    );
    expect(validated.map((problem) => problem.code)).toContain('permission-denied');

    await new Promise((resolve) => setImmediate(resolve));
    expect(registrations).toEqual([]);
  });

  it('declares the manifests when validation only warns (no identity for the role checks)', async () => {
    await mocked({});
    const settings = readStackSettings(new pulumi.Config('exportctl'), repoRoot, {});
    expect(settings.manifests).toBe(join(repoRoot, 'config-examples', 'quickstart'));
    const { resources, warnings } = declareManifests({
      ...settings,
      actor: { identity: undefined, source: 'none' },
    });
    await registered(resources.values());
    expect(warnings.map((warning) => warning.code)).toEqual(['actor-required']);
    expect(resources.size).toBe(6);
  });

  it('lets a program of its own wire references as outputs, which makes them dependencies', async () => {
    const registrations = await mocked({});
    // The README's example.
    const cc = new Connection('marketing-cc', {
      spec: {
        type: 'constant-contact',
        dataPrivacyConsent: true,
        exportUser: 'ops@example.com',
        auth: {
          clientId: 'my-app',
          clientSecret: { env: 'CC_CLIENT_SECRET' },
          refreshToken: { env: 'CC_REFRESH_TOKEN' },
        },
      },
    });
    const profiles = new ProfileSource('unified-profiles', {
      spec: {
        type: 'csv',
        profiles: 'data/profiles.csv',
        key: 'CustomerId',
        segmentMembership: 'data/members.csv',
      },
      manifestFile: 'config-examples/quickstart/profiles.yaml',
    });
    const vip = new ExportDestination('vip', {
      spec: {
        connection: cc.metadata.name,
        source: profiles.metadata.name,
        listId: '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
        dataMatching: { email: 'EmailAddress' },
        segments: ['VIP'],
      },
    });
    await registered([cc, profiles, vip]);
    const destination = registrations.find((item) => item.name === 'vip');
    expect(destination?.dependencies.sort()).toEqual(
      [
        urnOf(typeTokenOf('Connection'), 'marketing-cc'),
        urnOf(typeTokenOf('ProfileSource'), 'unified-profiles'),
      ].sort(),
    );
    expect(destination?.inputs).toMatchObject({
      metadata: { name: 'vip' },
      spec: { connection: 'marketing-cc', source: 'unified-profiles' },
    });
    // A relative manifest file is made absolute against the project folder.
    expect(registrations.find((item) => item.name === 'unified-profiles')?.inputs.manifestFile).toBe(
      join(repoRoot, 'config-examples', 'quickstart', 'profiles.yaml'),
    );
  });

  it('runProgram returns each resource status as a stack output', async () => {
    await mocked(exampleConfig);
    const outputs = runProgram();
    expect(Object.keys(outputs.resources)).toHaveLength(6);
    // The mock echoes the inputs, which have no status: the output resolves, empty.
    expect(
      await resolvedValue(outputs.resources['Connection/marketing-cc'] as pulumi.Output<unknown>),
    ).toBeUndefined();
  });
});
