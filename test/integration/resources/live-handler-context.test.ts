import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthError,
  ConstantContactClient,
  MemoryTokenStore,
  refreshTokenFingerprint,
} from '../../../src/constant-contact';
import type { ConnectionRuntime } from '../../../src/resources';
import { constantContactAccess, sharedListings } from '../../../src/resources/live-handler-context';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';

const VIP = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';
const WIN_BACK = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';
let sandbox: SandboxHandle | undefined;

afterEach(async () => {
  await sandbox?.close();
  sandbox = undefined;
});

function runtime(handle: SandboxHandle): ConnectionRuntime {
  return {
    name: 'marketing-cc',
    endpoints: { api: handle.apiUrl, token: handle.tokenUrl },
    limits: { requestsPerSecond: 50, requestsPerDay: 10_000 },
    clientId: 'sandbox-client',
    clientSecret: 'sandbox-secret',
    bootstrapRefreshToken: 'sandbox-refresh-token',
    tokens: new MemoryTokenStore(),
  };
}

describe('constantContactAccess over the sandbox', () => {
  it('answers many getList calls from one listing, and asks directly for a list the listing lacks', async () => {
    sandbox = await startSandbox();
    const access = constantContactAccess();
    const connection = runtime(sandbox);
    expect(await access.getList(connection, VIP)).toMatchObject({ id: VIP, name: 'VIP and newsletter' });
    expect(await access.getList(connection, WIN_BACK.toUpperCase())).toMatchObject({
      id: WIN_BACK,
      name: 'Win-back',
    });
    expect(await access.getList(connection, '00000000-0000-4000-8000-000000000000')).toBeUndefined();
    const routes = sandbox.requests().map((request) => `${request.method} ${request.path.split('?')[0]}`);
    expect(routes.filter((route) => route.startsWith('GET /v3/contact_lists'))).toEqual([
      'GET /v3/contact_lists',
      'GET /v3/contact_lists/00000000-0000-4000-8000-000000000000',
    ]);
  });

  it('verifyAccess asks the API itself, so a stored access token that was revoked does not pass', async () => {
    sandbox = await startSandbox();
    // What a state holds after the sandbox restarted without its state file: tokens it never issued.
    const tokens = new MemoryTokenStore({
      refreshToken: 'refresh-the-sandbox-forgot',
      accessToken: 'access-the-sandbox-forgot',
      accessTokenExpiresAt: Date.now() + 3_600_000,
      bootstrapFingerprint: refreshTokenFingerprint('sandbox-refresh-token'),
      updatedAt: Date.now(),
    });
    const error = await constantContactAccess()
      .verifyAccess({ ...runtime(sandbox), tokens })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'reauthorization-required' });
  });

  it('accesses given shared listings wait for a listing in flight, and ask again once it is answered', async () => {
    sandbox = await startSandbox();
    const shared = sharedListings();
    const connection = runtime(sandbox);
    const listings = () =>
      sandbox?.requests().filter((request) => request.path.split('?')[0] === '/v3/contact_lists').length;
    // Three calls at once, each with its own access (the provider's parallel creates): one listing.
    const lists = await Promise.all(
      [VIP, WIN_BACK, VIP].map((listId) =>
        constantContactAccess(undefined, {}, shared).getList(connection, listId),
      ),
    );
    expect(lists.map((list) => list?.id)).toEqual([VIP, WIN_BACK, VIP]);
    expect(listings()).toBe(1);
    expect(shared.size).toBe(0);
    // A call after that answer asks for itself: nothing is kept once answered.
    expect(await constantContactAccess(undefined, {}, shared).getList(connection, VIP)).toMatchObject({
      id: VIP,
    });
    expect(listings()).toBe(2);
    // Without shared listings, each access asks for its own.
    await Promise.all([VIP, VIP].map((listId) => constantContactAccess().getList(connection, listId)));
    expect(listings()).toBe(4);
  });

  it('verifyAccess and getList share one listing of the lists', async () => {
    sandbox = await startSandbox();
    const access = constantContactAccess();
    const connection = runtime(sandbox);
    await access.verifyAccess(connection);
    expect(await access.getList(connection, VIP)).toMatchObject({ id: VIP });
    expect(await access.getList(connection, WIN_BACK)).toMatchObject({ id: WIN_BACK });
    const routes = sandbox.requests().map((request) => `${request.method} ${request.path.split('?')[0]}`);
    expect(routes.filter((route) => route.startsWith('GET /v3/'))).toEqual(['GET /v3/contact_lists']);
  });

  it('listLists follows the next links until every list is read', async () => {
    sandbox = await startSandbox();
    const client = new ConstantContactClient({
      connectionName: 'marketing-cc',
      credentials: {
        clientId: 'sandbox-client',
        clientSecret: 'sandbox-secret',
        bootstrapRefreshToken: 'sandbox-refresh-token',
      },
      tokenStore: new MemoryTokenStore(),
      endpoints: { api: sandbox.apiUrl, token: sandbox.tokenUrl },
      limits: { requestsPerSecond: 50 },
    });
    for (let index = 0; index < 1203; index++) sandbox.account.createList(`List ${index}`, false, Date.now());
    const lists = await client.listLists();
    expect(lists).toHaveLength(1205);
    expect(new Set(lists.map((list) => list.list_id)).size).toBe(1205);
    const pages = sandbox.requests().filter((request) => request.path.startsWith('/v3/contact_lists'));
    expect(pages).toHaveLength(2);
  });
});
