import { describe, expect, it } from 'vitest';
import { PermissionError, UsageError } from '../../../src/errors';
import { reauthorizeConnection } from '../../../src/resources';
import { rejectionOf } from '../../support/rejection';
import { openTestState } from '../../support/state-store';

async function stateWithConnection(access?: { administrators: string[]; contributors?: string[] }) {
  const store = await openTestState();
  await store.resources.put({
    kind: 'Connection',
    name: 'cc',
    owner: 'exportctl',
    spec: { type: 'constant-contact' },
  });
  if (access)
    await store.resources.put({ kind: 'Access', name: 'default', owner: 'exportctl', spec: access });
  await store.secrets.put('cc', 'refreshToken', 'bootstrap-token');
  await store.tokens
    .forConnection('cc')
    .save({ refreshToken: 'rotated', bootstrapFingerprint: 'fp', updatedAt: 1 });
  return store;
}

describe('reauthorizeConnection (real SQLite state)', () => {
  it('drops the stored token chain and nothing else; a second time there is none to drop', async () => {
    const store = await stateWithConnection();
    const before = (await store.serial()).serial;
    expect(await reauthorizeConnection(store, 'cc', undefined)).toEqual({
      connection: 'cc',
      droppedTokens: true,
    });
    expect(await store.tokens.forConnection('cc').load()).toBeUndefined();
    expect(await store.secrets.get('cc', 'refreshToken')).toBe('bootstrap-token');
    expect((await store.resources.get('Connection', 'cc'))?.generation).toBe(1);
    expect((await store.serial()).serial).toBe(before + 1);
    expect(await reauthorizeConnection(store, 'cc', undefined)).toEqual({
      connection: 'cc',
      droppedTokens: false,
    });
  });

  it('refuses a connection that is not applied (unknown-connection), naming the applied ones', async () => {
    const store = await stateWithConnection();
    const error = await rejectionOf(reauthorizeConnection(store, 'nope', undefined), UsageError);
    expect(error.code).toBe('unknown-connection');
    expect(error.hint).toContain('cc');
    expect(await store.tokens.forConnection('cc').load()).toBeDefined();
  });

  it('with an Access applied: needs an identity, and an administrator', async () => {
    const store = await stateWithConnection({
      administrators: ['ops@example.com'],
      contributors: ['analyst@example.com'],
    });
    expect((await rejectionOf(reauthorizeConnection(store, 'cc', undefined), PermissionError)).code).toBe(
      'actor-required',
    );
    expect(
      (await rejectionOf(reauthorizeConnection(store, 'cc', 'analyst@example.com'), PermissionError)).code,
    ).toBe('permission-denied');
    expect(await store.tokens.forConnection('cc').load()).toBeDefined();
    expect((await reauthorizeConnection(store, 'cc', 'OPS@example.com')).droppedTokens).toBe(true);
  });
});
