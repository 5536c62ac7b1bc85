import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { exportctlProvider as sourceProvider } from '../../../provider/dynamic';
import { manifestKinds } from '../../../src/config';
import { builtDynamic, configOf, providerWorld, sandboxSecrets } from './provider-world';

// Layer 2: the provider object survives Pulumi's closure serialization, and the text, loaded the
// way the dynamic-provider host loads it (require-from-string, module paths from the working
// folder, `.handler()`), is a provider that still works.
const { exportctlProvider } = builtDynamic();
type Provider = ReturnType<typeof exportctlProvider>;

// The host's own loader; it has no types.
const requireFromString: (code: string) => { handler(): unknown } = require('require-from-string');

/** What the host does with a resource's `__provider` (cmd/dynamic-provider: getProvider). */
function loadAsTheHostDoes(text: string): Provider {
  return requireFromString(text).handler() as Provider;
}

describe('the serialized provider', () => {
  it.each(manifestKinds)('%s: serializes with nothing captured but its kind', async (kind) => {
    for (const provider of [exportctlProvider(kind), sourceProvider(kind)]) {
      const serialized = await pulumi.runtime.serializeFunction(() => provider);
      expect(serialized.containsSecrets).toBe(false);
      // A captured module would be emitted as a require("...") at the top of the text; a captured
      // store, client or timer would not serialize at all. The shim's own calls, made when a
      // method runs, name their modules `node:...`, which a captured module never is.
      const calls = /require\(["']node:(module|path|fs)["']\)/g;
      expect(serialized.text.replace(calls, '')).not.toContain('require("');
      expect(serialized.text).toContain(`kind: "${kind}"`);
      expect(serialized.text).toContain('`exportctl/dist/provider/dynamic/$' + '{name}`');
      expect(serialized.text.length).toBeLessThan(10_000);
    }
  });

  it('would show a captured module: the check above can fail', async () => {
    const path: typeof import('node:path') = require('node:path');
    const capturing = { create: async () => path.join('a', 'b') };
    const serialized = await pulumi.runtime.serializeFunction(() => capturing);
    expect(serialized.text).toMatch(/require\("path(\/posix)?"\)/);
  });

  it('loaded as the host loads it, the provider creates, reads and deletes for real', async () => {
    const world = await providerWorld();
    const store = await world.openStore();
    const serialized = async (kind: 'ProfileSource' | 'Connection') => {
      const { text } = await pulumi.runtime.serializeFunction(() => exportctlProvider(kind));
      const loaded = loadAsTheHostDoes(text);
      await loaded.configure({ config: configOf(world.config) });
      return loaded;
    };

    const source = await serialized('ProfileSource');
    const sourceProps = (await source.check({} as never, world.props('ProfileSource/unified-profiles')))
      .inputs;
    const createdSource = await source.create(sourceProps);
    expect(createdSource.outs.spec.profiles).toBe('data/profiles.csv');

    const connection = await serialized('Connection');
    const checked = await connection.check(
      {} as never,
      world.props('Connection/marketing-cc', (props) => {
        props.secretEnv = { ...sandboxSecrets };
      }),
    );
    expect(checked.failures).toEqual([]);
    const created = await connection.create(checked.inputs);
    expect(created.outs).toMatchObject({ owner: 'pulumi', status: { ready: true } });
    expect(
      world.sandbox.requests().some((request) => request.path.endsWith('/oauth2/default/v1/token')),
    ).toBe(true);
    expect(await connection.read(created.id, created.outs)).toMatchObject({ id: 'Connection/marketing-cc' });
    expect((await store.resources.list()).map((item) => `${item.kind}/${item.name} ${item.owner}`)).toEqual([
      'Connection/marketing-cc pulumi',
      'ProfileSource/unified-profiles pulumi',
    ]);

    await connection.delete(created.id, created.outs);
    await source.delete(createdSource.id, createdSource.outs);
    expect(await store.resources.list()).toEqual([]);
  });
});
