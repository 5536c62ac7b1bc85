import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot, providerSettings, withProviderSession } from '../../../provider/dynamic';
import { tempFolder } from '../../support/temp-folder';

/** A project folder with Pulumi.yaml and a provider/ folder below it, where Pulumi runs the provider. */
function project(): { root: string; programFolder: string } {
  const root = tempFolder();
  writeFileSync(join(root, 'Pulumi.yaml'), 'name: test\nruntime: nodejs\nmain: provider/index.ts\n');
  const programFolder = join(root, 'provider', 'deeper');
  mkdirSync(programFolder, { recursive: true });
  return { root, programFolder };
}

const config = (values: Record<string, string>) => ({ get: (key: string) => values[key] });

describe('provider settings', () => {
  it('resolve against the folder of Pulumi.yaml, not the folder Pulumi runs the provider in', async () => {
    const { root, programFolder } = project();
    expect(projectRoot(programFolder)).toBe(root);
    const settings = providerSettings(
      config({ 'exportctl:state': 'sqlite:.exportctl/state.db' }),
      programFolder,
    );
    expect(settings).toEqual({
      state: 'sqlite:.exportctl/state.db',
      root,
      actor: 'pulumi',
      lockTimeoutMs: 60_000,
    });
    const location = await withProviderSession(settings, {}, async ({ store }) => store.location);
    expect(location).toBe(join(root, '.exportctl', 'state.db'));
  });

  it('read the actor and the lock timeout, and refuse a timeout that is not seconds', () => {
    const { programFolder } = project();
    expect(
      providerSettings(
        config({ 'exportctl:actor': 'ops@example.com', 'exportctl:lockTimeout': '2.5' }),
        programFolder,
      ),
    ).toMatchObject({ actor: 'ops@example.com', lockTimeoutMs: 2500, state: undefined });
    expect(() => providerSettings(config({ 'exportctl:lockTimeout': 'soon' }), programFolder)).toThrow(
      expect.objectContaining({ name: 'ValidationError', code: 'invalid-config' }),
    );
  });

  it('fall back to the start folder when no Pulumi.yaml is above it', () => {
    const folder = tempFolder();
    expect(projectRoot(folder)).toBe(folder);
  });
});
