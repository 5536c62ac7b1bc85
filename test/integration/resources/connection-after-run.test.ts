import { describe, expect, it } from 'vitest';
import { ConstantContactError } from '../../../src/constant-contact';
import { ExportctlError } from '../../../src/errors';
import { readyConditions, recordRunOnConnection, stalledConditions } from '../../../src/resources';
import { CONTROL_PLANE_LOCK, resourceState, type StateStore, stateReason } from '../../../src/state';
import { openTestState } from '../../support/state-store';

const holder = { identity: 'ops@example.com', command: 'run vip (connection status)' };

/** A state with Connection/cc (Ready) and ExportDestination/vip on it. */
async function state(): Promise<StateStore> {
  const store = await openTestState();
  await store.resources.put({
    kind: 'Connection',
    name: 'cc',
    spec: { type: 'constant-contact' },
    owner: 'exportctl',
  });
  await store.resources.put({
    kind: 'ExportDestination',
    name: 'vip',
    spec: { connection: 'cc', listId: 'list-1' },
    owner: 'exportctl',
  });
  await store.resources.setConditions('Connection', 'cc', readyConditions('the credentials work'));
  return store;
}

async function connection(store: StateStore) {
  const applied = await store.resources.get('Connection', 'cc');
  if (!applied) throw new Error('Connection/cc is gone');
  return {
    state: resourceState(applied),
    reason: stateReason(applied)?.reason,
    message: stateReason(applied)?.message,
  };
}

describe('recordRunOnConnection', () => {
  it('marks the connection Stalled when Constant Contact refused its credentials to a run', async () => {
    const store = await state();
    // As the error crosses from the export worker: a plain ExportctlError with the code.
    const refused = new ExportctlError(
      'reauthorization-required',
      'Constant Contact refused the refresh token',
    );
    await recordRunOnConnection(store, 'vip', { accepted: false, error: refused }, holder);
    expect(await connection(store)).toEqual({
      state: 'Stalled',
      reason: 'CredentialsRejected',
      message: 'a run of ExportDestination/vip was refused: Constant Contact refused the refresh token',
    });
  });

  it('leaves it alone for a failure that is not about credentials', async () => {
    const store = await state();
    const unreachable = new ConstantContactError(
      'network-error',
      'GET /v3/contact_lists failed: ECONNREFUSED',
    );
    await recordRunOnConnection(store, 'vip', { accepted: false, error: unreachable }, holder);
    expect(await connection(store)).toMatchObject({ state: 'Ready', reason: 'Verified' });
  });

  it('makes a connection Stalled for its credentials Ready again after an accepted run, and only that', async () => {
    const store = await state();
    await store.resources.setConditions(
      'Connection',
      'cc',
      stalledConditions('CredentialsRejected', 'revoked'),
    );
    await recordRunOnConnection(store, 'vip', { accepted: true }, holder);
    expect(await connection(store)).toMatchObject({ state: 'Ready', reason: 'Verified' });

    await store.resources.setConditions('Connection', 'cc', stalledConditions('Unreachable', 'no answer'));
    await recordRunOnConnection(store, 'vip', { accepted: true }, holder);
    expect(await connection(store)).toMatchObject({ state: 'Stalled', reason: 'Unreachable' });
  });

  it('writes nothing while another process holds the control-plane lock', async () => {
    const store = await state();
    const lock = await store.locks.acquire(CONTROL_PLANE_LOCK, { identity: 'other', command: 'apply' });
    try {
      const refused = new ExportctlError('invalid-client', 'Constant Contact refused the client secret');
      await recordRunOnConnection(store, 'vip', { accepted: false, error: refused }, holder);
      expect(await connection(store)).toMatchObject({ state: 'Ready' });
    } finally {
      await lock.release();
    }
  });
});
