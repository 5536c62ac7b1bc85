import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ManifestKind, manifestKinds } from '../../../src/config';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { repoRoot } from '../../support/exportctl-cli';
import { tempFolder } from '../../support/temp-folder';
import { type ProviderHost, startProviderHost } from './provider-host';
import { builtDynamic, type ProviderWorld, providerWorld, sandboxSecrets } from './provider-world';
import { runPulumiProgram } from './test-engine';

// Every stack keeps the serialized provider ("shim") it was written with in each resource's
// `__provider`, and the host runs that text against the exportctl installed now
// (provider/dynamic/shim-interface.ts). So each released shim is kept as it was
// (test/fixtures/pulumi/shims/<version>/<Kind>.js, by scripts/write-shim-fixtures.mjs) and driven
// here, through the real dynamic-provider host, against the current build and the sandbox.
const shimsFolder = join(repoRoot, 'test', 'fixtures', 'pulumi', 'shims');
const versions = readdirSync(shimsFolder).sort(compareVersions);
const shimOf = (version: string, kind: ManifestKind) =>
  readFileSync(join(shimsFolder, version, `${kind}.js`), 'utf8');

const { exportctlProvider } = builtDynamic();
const { version: packageVersion } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
};

let sandbox: SandboxHandle;
beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 100 },
  });
});
afterAll(async () => {
  await sandbox?.close();
});

const urnOf = (kind: ManifestKind, name: string) =>
  `urn:pulumi:test::exportctl::pulumi-nodejs:dynamic/exportctl:${kind}::${name}`;
const kindOf = (id: string) => id.split('/')[0] as ManifestKind;
const nameOf = (id: string) => id.split('/')[1] ?? '';

describe('the golden shims', () => {
  it('exist for released versions only, each with every kind', () => {
    expect(versions.length).toBeGreaterThan(0);
    for (const version of versions) {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(compareVersions(version, packageVersion)).toBeLessThanOrEqual(0);
      expect(readdirSync(join(shimsFolder, version)).sort()).toEqual(
        manifestKinds.map((kind) => `${kind}.js`).sort(),
      );
    }
  });

  // Byte for byte: any change of the text is a change of what every stack stores and runs, so it
  // must be a deliberate new copy (a new version), never a side effect of an edit or a compiler.
  it.each(manifestKinds)('%s: the current shim is the newest golden copy', async (kind) => {
    const provider = exportctlProvider(kind);
    const { text } = await pulumi.runtime.serializeFunction(() => provider);
    const newest = versions.at(-1) ?? '';
    expect(
      text,
      `the shim changed: it is part of every stack's state, and old stacks keep running theirs against new ` +
        `builds (provider/dynamic/shim-interface.ts). If the change is meant, bump the version in ` +
        `package.json and run \`npm run build && node scripts/write-shim-fixtures.mjs\``,
    ).toBe(shimOf(newest, kind));
  });
});

describe('the shims the program registers', () => {
  it('are the newest golden copies, as Pulumi’s Node.js runtime (ts-node, from the source) serializes them', async () => {
    const exampleConfig = (
      parse(
        readFileSync(join(repoRoot, 'config-examples', 'pulumi', '.stack', 'Pulumi.dev.yaml'), 'utf8'),
      ) as { config: Record<string, string> }
    ).config;
    const run = await runPulumiProgram({ config: exampleConfig });
    expect(run.code).toBe(0);
    const newest = versions.at(-1) ?? '';
    const registered = run.registrations.filter((item) => item.type.startsWith('pulumi-nodejs:dynamic/'));
    expect(registered.length).toBeGreaterThan(manifestKinds.length);
    for (const registration of registered) {
      const kind = registration.type.split(':').at(-1) as ManifestKind;
      expect(registration.inputs.__provider, registration.type).toBe(shimOf(newest, kind));
    }
  }, 120_000);
});

describe.each(versions)('the shims of %s, run by the host against the current build', (version) => {
  let world: ProviderWorld;
  let host: ProviderHost;

  beforeAll(async () => {
    world = await providerWorld({}, { sandbox });
    host = await startProviderHost({ env: { PATH: process.env.PATH, ...sandboxSecrets } });
    await host.configure({ 'exportctl:state': world.stateUrl, 'exportctl:actor': 'ops@example.com' });
  });
  afterAll(async () => {
    await host?.close();
  });

  const news = (id: string, change?: Parameters<ProviderWorld['props']>[1]) => ({
    ...world.props(id, change),
    __provider: shimOf(version, kindOf(id)),
  });
  const checked = async (id: string, change?: Parameters<ProviderWorld['props']>[1]) => {
    const result = await host.check(urnOf(kindOf(id), nameOf(id)), {}, news(id, change));
    expect(result.failures).toEqual([]);
    expect(result.inputs.__provider).toBe(shimOf(version, kindOf(id)));
    return result.inputs;
  };

  it('configure, check, diff, create, read, update and delete', async () => {
    const store = await world.openStore();
    const bad = await host.check(
      urnOf('ExportDestination', 'vip-newsletter'),
      {},
      news('ExportDestination/vip-newsletter', (props) => {
        props.spec.listId = 'not-a-uuid';
      }),
    );
    expect(bad.failures.map((failure) => failure.property)).toEqual(['spec.listId']);

    const created = new Map<string, Record<string, unknown>>();
    for (const id of ['ProfileSource/unified-profiles', 'Connection/marketing-cc']) {
      const result = await host.create(urnOf(kindOf(id), nameOf(id)), await checked(id));
      expect(result).toMatchObject({ id, properties: { owner: 'pulumi', status: { ready: true } } });
      created.set(id, result.properties);
    }
    const vipId = 'ExportDestination/vip-newsletter';
    const vipUrn = urnOf('ExportDestination', 'vip-newsletter');
    const vip = await host.create(vipUrn, await checked(vipId));
    expect(vip.properties).toMatchObject({
      owner: 'pulumi',
      generation: 1,
      remoteFacts: { listName: 'VIP and newsletter' },
      __provider: shimOf(version, 'ExportDestination'),
    });

    expect(await host.diff(vipId, vipUrn, vip.properties, await checked(vipId))).toMatchObject({
      changes: 'none',
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
    expect(updated.properties).toMatchObject({ generation: 2, spec: { segments: ['VIP'] } });

    expect(await host.read(vipId, vipUrn, updated.properties)).toMatchObject({
      id: vipId,
      properties: { status: { ready: true, reason: 'Verified' } },
    });

    await host.delete(vipId, vipUrn, updated.properties);
    for (const id of ['Connection/marketing-cc', 'ProfileSource/unified-profiles']) {
      await host.delete(id, urnOf(kindOf(id), nameOf(id)), created.get(id) ?? {});
    }
    expect(await store.resources.list()).toEqual([]);
    expect(await host.read(vipId, vipUrn, updated.properties)).toMatchObject({ id: '' });
  });
});

describe('where the shim finds the build', () => {
  // The current shim (the newest golden copy, as checked above).
  let shim: string;
  beforeAll(async () => {
    const provider = exportctlProvider('ProfileSource');
    shim = (await pulumi.runtime.serializeFunction(() => provider)).text;
  });
  const sourceNews = (world: ProviderWorld) => ({
    ...world.props('ProfileSource/unified-profiles'),
    __provider: shim,
  });

  /** A check through a host started in `cwd`, with the stack config of `world`. */
  async function checkIn(cwd: string, world: ProviderWorld, env: NodeJS.ProcessEnv = {}) {
    const host = await startProviderHost({ cwd, env: { PATH: process.env.PATH, ...env } });
    try {
      await host.configure(world.config);
      return await host.check(urnOf('ProfileSource', 'unified-profiles'), {}, sourceNews(world));
    } finally {
      await host.close();
    }
  }

  it('says so, and what to run, when exportctl is not installed in the project', async () => {
    const world = await providerWorld({}, { sandbox });
    const project = tempFolder();
    await expect(checkIn(project, world)).rejects.toMatchObject({
      code: 2,
      details: expect.stringMatching(
        /^exportctl is not installed where the Pulumi provider runs .*npm install exportctl/,
      ),
    });
  });

  it('says so, and what to run, when the installed exportctl has no dist/', async () => {
    const world = await providerWorld({}, { sandbox });
    const project = tempFolder();
    const installed = join(project, 'node_modules', 'exportctl');
    mkdirSync(installed, { recursive: true });
    copyFileSync(join(repoRoot, 'package.json'), join(installed, 'package.json'));
    await expect(checkIn(project, world)).rejects.toMatchObject({
      code: 2,
      details: expect.stringContaining(
        `exportctl in ${installed} is not built (it has no dist/), and this stack's resources call its built code (exportctl/dist/provider/dynamic/provider-settings): run \`npm run build\` in ${installed}`,
      ),
    });
  });

  it('finds exportctl by self-reference, through its exports, in a checkout without the dev self-link', async () => {
    const world = await providerWorld({}, { sandbox });
    // A checkout as far as resolving goes: its package.json and its build, no node_modules/exportctl.
    const checkout = tempFolder();
    copyFileSync(join(repoRoot, 'package.json'), join(checkout, 'package.json'));
    symlinkSync(join(repoRoot, 'dist'), join(checkout, 'dist'));
    mkdirSync(join(checkout, 'provider'));
    const result = await checkIn(join(checkout, 'provider'), world);
    expect(result.failures).toEqual([]);
    expect(result.inputs).toMatchObject({ kind: 'ProfileSource', apiVersion: 'exportctl/v1' });
  });

  it('keeps failing on a stack config that cannot be used, instead of falling back to the defaults', async () => {
    const world = await providerWorld({ 'exportctl:lockTimeout': 'soon' }, { sandbox });
    // Where the defaults would put the state: the test must not write one into the checkout.
    const fallback = `sqlite:${join(tempFolder(), 'state.db')}`;
    const host = await startProviderHost({
      env: { PATH: process.env.PATH, EXPORTCTL_STATE: fallback, ...sandboxSecrets },
    });
    try {
      await host.configure(world.config);
      const urn = urnOf('ProfileSource', 'unified-profiles');
      // The host caches the provider before it configures it: the first call fails in configure...
      await expect(host.check(urn, {}, sourceNews(world))).rejects.toMatchObject({
        details: expect.stringContaining('exportctl:lockTimeout must be a number of seconds'),
      });
      // ...and the next ones must not run on the defaults (another state) as if configured.
      await expect(host.create(urn, { ...sourceNews(world), kind: 'ProfileSource' })).rejects.toMatchObject({
        details: expect.stringContaining('exportctl:lockTimeout must be a number of seconds'),
      });
    } finally {
      await host.close();
    }
  });
});

describe('the package exports', () => {
  it('resolve every module the shims call, the documented imports and every built folder, by self-reference', () => {
    const { createRequire } = require('node:module') as typeof import('node:module');
    const checkout = tempFolder();
    copyFileSync(join(repoRoot, 'package.json'), join(checkout, 'package.json'));
    symlinkSync(join(repoRoot, 'dist'), join(checkout, 'dist'));
    const resolve = createRequire(join(checkout, 'index.js')).resolve;
    const documented = ['README.md', ...readdirSync(join(repoRoot, 'docs')).map((file) => join('docs', file))]
      .flatMap((file) => [
        ...readFileSync(join(repoRoot, file), 'utf8').matchAll(
          /(?:from |require\()'(exportctl(?:\/\w[\w.-]*)*)'/g,
        ),
      ])
      .map((match) => match[1] ?? '');
    expect(documented).toContain('exportctl/dist/provider/resources');
    const shimCalls = versions.flatMap((version) =>
      manifestKinds.flatMap((kind) =>
        [...shimOf(version, kind).matchAll(/built\('([\w-]+)'\)/g)].map(
          (match) => `exportctl/dist/provider/dynamic/${match[1]}`,
        ),
      ),
    );
    expect(shimCalls).toContain('exportctl/dist/provider/dynamic/write-resource');
    const folders = builtFolders(join(repoRoot, 'dist')).map((folder) => `exportctl/dist/${folder}`);
    for (const specifier of new Set([
      'exportctl',
      'exportctl/provider',
      'exportctl/provider/resources',
      'exportctl/package.json',
      ...documented,
      ...shimCalls,
      ...folders,
    ])) {
      // A new folder with an index needs its line in package.json "exports" (./dist/<folder>).
      expect(
        () => resolve(specifier),
        `${specifier} does not resolve through package.json "exports"`,
      ).not.toThrow();
    }
  });
});

/** Every folder under `dist` (relative, `src/engine`) that has an index.js. */
function builtFolders(dist: string, under = ''): string[] {
  return readdirSync(join(dist, under), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => {
      const folder = under === '' ? entry.name : `${under}/${entry.name}`;
      const own = readdirSync(join(dist, folder)).includes('index.js') ? [folder] : [];
      return [...own, ...builtFolders(dist, folder)];
    });
}

function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split('.').map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let index = 0; index < 3; index++) {
    const difference = (x[index] ?? 0) - (y[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
