import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../support/exportctl-cli';
import { type ProviderHost, startProviderHost } from './provider-host';
import { providerWorld, sandboxSecrets } from './provider-world';
import { programLocation, runPulumiProgram } from './test-engine';

// Beyond the four layers: the program run as Pulumi's Node.js runtime runs it (cmd/run, the entry
// from Pulumi.yaml, TypeScript through ts-node) against a test engine, and what it registers,
// serialized provider included, applied through the real dynamic-provider host: a `pulumi up`
// whose engine is this test. What only the real CLI does (its diff display, its state file, its
// secrets encryption, parallelism) is not here.

const exampleConfig = (
  parse(readFileSync(join(repoRoot, 'config-examples', 'pulumi', '.stack', 'Pulumi.dev.yaml'), 'utf8')) as {
    config: Record<string, string>;
  }
).config;

let host: ProviderHost | undefined;
afterAll(async () => {
  await host?.close();
});

describe('the program, run by Pulumi’s Node.js runtime against a test engine', () => {
  it('runs the entry Pulumi.yaml names and registers one resource per manifest of the example stack', async () => {
    expect(programLocation()).toEqual({ folder: join(repoRoot, 'provider'), entry: 'index.ts' });
    const run = await runPulumiProgram({ config: exampleConfig });
    expect(run.output).toBe('');
    expect(run.code).toBe(0);
    expect(run.warnings).toEqual([]);
    // Destinations register once both their dependencies are: in either order.
    expect(run.registrations.map((item) => `${item.type} ${item.name}`).sort()).toEqual([
      'pulumi-nodejs:dynamic/exportctl:Access default',
      'pulumi-nodejs:dynamic/exportctl:Connection marketing-cc',
      'pulumi-nodejs:dynamic/exportctl:ExportDestination vip-newsletter',
      'pulumi-nodejs:dynamic/exportctl:ExportDestination win-back',
      'pulumi-nodejs:dynamic/exportctl:ProfileSource unified-profiles',
      'pulumi-nodejs:dynamic/exportctl:Refresh default',
      'pulumi:pulumi:Stack exportctl-dev',
    ]);
    expect(run.registrations[0]?.type).toBe('pulumi:pulumi:Stack');
    const destination = run.registrations.find((item) => item.name === 'win-back');
    const connectionUrn =
      'urn:pulumi:dev::exportctl::pulumi-nodejs:dynamic/exportctl:Connection::marketing-cc';
    const sourceUrn =
      'urn:pulumi:dev::exportctl::pulumi-nodejs:dynamic/exportctl:ProfileSource::unified-profiles';
    expect(destination?.dependencies.sort()).toEqual([connectionUrn, sourceUrn]);
    // Through `spec`, not only `dependsOn`: the engine replaces (deleting first) a dependent whose
    // properties that depend on a replaced resource, set unknown, make its diff a replacement. Only
    // `spec` depends on them: `metadata` (the name) stays known then.
    for (const registration of run.registrations.filter((item) => item.type.endsWith(':ExportDestination'))) {
      expect(registration.propertyDependencies.spec?.sort()).toEqual([connectionUrn, sourceUrn]);
      expect(registration.propertyDependencies.metadata ?? []).toEqual([]);
      expect(registration.inputs.spec).toMatchObject({
        connection: 'marketing-cc',
        source: 'unified-profiles',
      });
    }
    // The test engine answers with the inputs, which hold no status: the output is there, empty.
    expect(run.stackOutputs).toHaveProperty('resources');
  });

  it('stops with the validation problems, registering no resource, when the manifests do not validate', async () => {
    const run = await runPulumiProgram({
      config: { ...exampleConfig, 'exportctl:actor': 'analyst@example.com' },
    });
    expect(run.code).not.toBe(0);
    expect(run.registrations.map((item) => item.type)).toEqual(['pulumi:pulumi:Stack']);
    const errors = run.warnings.join('\n');
    expect(errors).toContain('the manifests do not validate (4 errors)');
    expect(errors).toContain(
      'ProfileSource/unified-profiles: analyst@example.com is a contributor: only administrators may create, change or delete a ProfileSource',
    );
    // A run error: the message, without a stack trace.
    expect(errors).not.toMatch(/\n\s+at /);
  });

  it('what it registers, sent through the dynamic-provider host, creates every resource', async () => {
    const world = await providerWorld();
    const run = await runPulumiProgram({
      config: { 'exportctl:manifests': world.folder, 'exportctl:actor': 'ops@example.com' },
      organization: 'acme',
    });
    expect(run.code).toBe(0);
    host = await startProviderHost({ env: { PATH: process.env.PATH, ...sandboxSecrets } });
    await host.configure({ 'exportctl:state': world.stateUrl });
    const created: string[] = [];
    // In registration order, which respects the dependencies: what the engine would do, one at a time.
    for (const registration of run.registrations.filter((item) => item.custom)) {
      const checked = await host.check(registration.urn, {}, registration.inputs);
      expect(checked.failures).toEqual([]);
      const { id } = await host.create(registration.urn, checked.inputs);
      created.push(id);
    }
    expect(created.slice(0, 4)).toEqual([
      'Access/default',
      'Refresh/default',
      'ProfileSource/unified-profiles',
      'Connection/marketing-cc',
    ]);
    expect(created.slice(4).sort()).toEqual([
      'ExportDestination/vip-newsletter',
      'ExportDestination/win-back',
    ]);
    const store = await world.openStore();
    expect(
      (await store.resources.list()).map((item) => `${item.kind}/${item.name} ${item.owner}`),
    ).toHaveLength(6);
    // Every resource names the stack the program ran as, and is owned by it.
    expect(run.registrations.filter((item) => item.custom).map((item) => item.inputs.stack)).toEqual(
      Array(6).fill('acme/exportctl/dev'),
    );
    expect((await store.resources.list()).map((item) => item.owner)).toEqual(
      Array(6).fill('pulumi:acme/exportctl/dev'),
    );
  });
});
