import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretKeyError } from '../../../src/state';
import { fakeClock } from '../../support/fake-clock';
import { rejectionOf } from '../../support/rejection';
import { describeStateStoreContract } from '../../support/state-backends';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, SecretKeyError);

describeStateStoreContract('connection secrets', (backend) => {
  it('round-trips values with fingerprints, writing only on change', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    const first = await store.secrets.put('marketing-cc', 'clientSecret', 'cs-value-1');
    expect(first).toEqual({ fingerprint: await store.secrets.fingerprint('cs-value-1'), changed: true });
    await store.secrets.put('marketing-cc', 'refreshToken', 'rt-bootstrap');
    clock.advance(1000);
    expect(await store.secrets.put('marketing-cc', 'clientSecret', 'cs-value-1')).toEqual({
      ...first,
      changed: false,
    });
    expect(await store.secrets.get('marketing-cc', 'clientSecret')).toBe('cs-value-1');
    expect(await store.secrets.get('marketing-cc', 'clientId')).toBeUndefined();
    expect(await store.secrets.describe('marketing-cc')).toEqual([
      {
        connection: 'marketing-cc',
        name: 'clientSecret',
        fingerprint: first.fingerprint,
        updatedAt: clock.now() - 1000,
      },
      {
        connection: 'marketing-cc',
        name: 'refreshToken',
        fingerprint: await store.secrets.fingerprint('rt-bootstrap'),
        updatedAt: clock.now() - 1000,
      },
    ]);

    const second = await store.secrets.put('marketing-cc', 'clientSecret', 'cs-value-2');
    expect(second.changed).toBe(true);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    expect(await store.secrets.get('marketing-cc', 'clientSecret')).toBe('cs-value-2');
    expect(await store.secrets.delete('marketing-cc', 'clientSecret')).toBe(1);
    expect(await store.secrets.delete('marketing-cc')).toBe(1);
    expect(await store.secrets.describe('marketing-cc')).toEqual([]);
  });

  it('refuses another key with a clear error, for reads and writes alike', async () => {
    const folder = tempFolder();
    const keyA = randomBytes(32).toString('base64');
    const a = await backend.open({ folder, env: { EXPORTCTL_SECRET_KEY: keyA } });
    await a.secrets.put('cc', 'clientSecret', 'value');
    await a.tokens.forConnection('cc').save({ refreshToken: 'rt', bootstrapFingerprint: 'fp', updatedAt: 1 });
    await a.close();

    const b = await backend.open({ folder, env: { EXPORTCTL_SECRET_KEY: randomBytes(32).toString('hex') } });
    const error = await rejection(b.secrets.get('cc', 'clientSecret'));
    expect(error.code).toBe('secret-key-mismatch');
    expect(error.message).toContain('was encrypted with another key');
    expect(error.message).toContain('set EXPORTCTL_SECRET_KEY to the key used before');
    expect((await rejection(b.secrets.put('cc', 'clientId', 'id'))).code).toBe('secret-key-mismatch');
    expect((await rejection(b.tokens.forConnection('cc').load())).code).toBe('secret-key-mismatch');
    expect((await rejection(b.secrets.fingerprint('x'))).code).toBe('secret-key-mismatch');
    // Without the variable there is no key file to fall back on, and no new one is minted.
    const c = await backend.open({ folder, env: {} });
    expect((await rejection(c.secrets.get('cc', 'clientSecret'))).code).toBe('secret-key-missing');
    expect(readdirSync(folder)).not.toContain('secret.key');
    expect(await b.secrets.describe('cc')).toHaveLength(1);
  });

  it('tells a key recorded later by another writer from a damaged row', async () => {
    const folder = tempFolder();
    const a = await backend.open({ folder, env: { EXPORTCTL_SECRET_KEY: randomBytes(32).toString('hex') } });
    const b = await backend.open({ folder, env: { EXPORTCTL_SECRET_KEY: randomBytes(32).toString('hex') } });
    await a.secrets.fingerprint('loads the key while the state has none recorded');
    await b.secrets.put('cc', 'clientSecret', 'written with key b');
    expect((await rejection(a.secrets.get('cc', 'clientSecret'))).code).toBe('secret-key-mismatch');
    expect((await rejection(a.secrets.put('cc', 'clientId', 'id'))).code).toBe('secret-key-mismatch');
    expect(await b.secrets.get('cc', 'clientSecret')).toBe('written with key b');
  });

  it('accepts the same key as hex or base64', async () => {
    const folder = tempFolder();
    const key = randomBytes(32);
    const hex = await backend.open({ folder, env: { EXPORTCTL_SECRET_KEY: key.toString('hex') } });
    await hex.secrets.put('cc', 'clientSecret', 'value');
    await hex.close();
    const base64 = await backend.open({ folder, env: { EXPORTCTL_SECRET_KEY: key.toString('base64') } });
    expect(await base64.secrets.get('cc', 'clientSecret')).toBe('value');
    expect(readdirSync(folder)).not.toContain('secret.key');
  });

  it('says secret-key-invalid for a malformed EXPORTCTL_SECRET_KEY, naming the variable', async () => {
    const store = await backend.open({ env: { EXPORTCTL_SECRET_KEY: 'hunter2' } });
    const error = await rejection(store.secrets.put('cc', 'clientSecret', 'value'));
    expect(error.code).toBe('secret-key-invalid');
    expect(error.message).toContain('EXPORTCTL_SECRET_KEY');
    expect(error.message).not.toContain('hunter2');
  });
});

describe('connection secrets in SQLite (key file, memory)', () => {
  it('creates secret.key (0600) beside the state on the first secret, not before', async () => {
    const folder = tempFolder();
    const store = await openTestState({ folder });
    expect(await store.secrets.get('cc', 'clientSecret')).toBeUndefined();
    expect(await store.secrets.describe('cc')).toEqual([]);
    expect(existsSync(join(folder, 'secret.key'))).toBe(false);
    await store.secrets.put('cc', 'clientSecret', 'value');
    expect(statSync(join(folder, 'secret.key')).mode & 0o777).toBe(0o600);
    await store.close();
    const reopened = await openTestState({ folder });
    expect(await reopened.secrets.get('cc', 'clientSecret')).toBe('value');
  });

  it('binds each ciphertext to its row: swapped rows fail to decrypt', async () => {
    const store = await openTestState();
    await store.secrets.put('cc-a', 'clientSecret', 'secret-a');
    await store.secrets.put('cc-b', 'clientSecret', 'secret-b');
    store.sqlite.exec(`
      UPDATE connection_secrets SET connection = 'swap' WHERE connection = 'cc-a';
      UPDATE connection_secrets SET connection = 'cc-a' WHERE connection = 'cc-b';
      UPDATE connection_secrets SET connection = 'cc-b' WHERE connection = 'swap';`);
    expect((await rejection(store.secrets.get('cc-a', 'clientSecret'))).code).toBe('secret-undecryptable');
    expect((await rejection(store.secrets.get('cc-b', 'clientSecret'))).code).toBe('secret-undecryptable');
  });

  it('does not mint a new key when the state already holds secrets (secret-key-missing)', async () => {
    const folder = tempFolder();
    const first = await openTestState({ folder });
    await first.secrets.put('cc', 'clientSecret', 'value');
    await first.close();
    rmSync(join(folder, 'secret.key'));
    const second = await openTestState({ folder });
    const error = await rejection(second.secrets.get('cc', 'clientSecret'));
    expect(error.code).toBe('secret-key-missing');
    expect(existsSync(join(folder, 'secret.key'))).toBe(false);
  });

  it('uses an ephemeral key in memory and writes no key file', async () => {
    const cwd = tempFolder();
    const store = await openTestState({ url: 'sqlite::memory:', folder: cwd });
    await store.secrets.put('cc', 'clientSecret', 'value');
    expect(await store.secrets.get('cc', 'clientSecret')).toBe('value');
    expect(readdirSync(cwd)).toEqual([]);
  });
});
