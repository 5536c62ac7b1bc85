import { expect, it } from 'vitest';
import { describeStateStoreContract } from '../../support/state-backends';

// A postgres ProfileSource's URL lives beside the connections' secrets, encrypted the same way.
describeStateStoreContract('the secret store with a source database URL', (backend) => {
  it('stores, fingerprints and deletes a databaseUrl beside a connection secret', async () => {
    const store = await backend.open();
    await store.secrets.put('cc', 'clientSecret', 'connection-secret');
    const url = 'postgres://crm:pg-password@127.0.0.1:5432/crm';
    const put = await store.secrets.put('ProfileSource/warehouse', 'databaseUrl', url);
    expect(put).toEqual({ fingerprint: await store.secrets.fingerprint(url), changed: true });
    expect(await store.secrets.get('ProfileSource/warehouse', 'databaseUrl')).toBe(url);
    expect(await store.secrets.describe('ProfileSource/warehouse')).toEqual([
      expect.objectContaining({ name: 'databaseUrl', fingerprint: put.fingerprint }),
    ]);
    expect(JSON.stringify(await store.secrets.describe('ProfileSource/warehouse'))).not.toContain(
      'pg-password',
    );
    expect(await store.secrets.delete('ProfileSource/warehouse')).toBe(1);
    expect(await store.secrets.get('cc', 'clientSecret')).toBe('connection-secret');
  });
});
