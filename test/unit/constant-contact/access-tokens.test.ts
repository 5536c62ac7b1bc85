import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConstantContactError,
  MemoryTokenStore,
  refreshTokenFingerprint,
  type StoredTokens,
  type TokenStore,
} from '../../../src/constant-contact';
import {
  apiOrigin,
  authOrigin,
  grant,
  listId,
  nockedClient,
  secrets,
  tokenPath,
  useNock,
} from '../../support/nock-client';

useNock();

const list = { list_id: listId, name: 'VIP', membership_count: 3 };
const basic = `Basic ${Buffer.from(`client-id:${secrets.clientSecret}`).toString('base64')}`;

/** A token endpoint interceptor that checks the request and records the refresh token used. */
function tokenEndpoint(used: string[], answer: () => [number, Record<string, unknown>]) {
  return nock(authOrigin, { reqheaders: { authorization: basic } })
    .post(tokenPath, (body: Record<string, string>) => {
      used.push(body.refresh_token ?? '');
      return body.grant_type === 'refresh_token';
    })
    .reply(() => answer());
}

/**
 * A token endpoint that answers `times` refreshes, each rotating: access-1/refresh-2, access-2/refresh-3...
 * `refreshed` counts them; `onRequest` sees each refresh token used.
 */
function rotatingTokenEndpoint(
  times: number,
  options: { expiresIn?: number; onRequest?: (used: string) => void } = {},
) {
  const state = { refreshed: 0 };
  nock(authOrigin)
    .post(tokenPath, (body: Record<string, string>) => {
      options.onRequest?.(body.refresh_token ?? '');
      return true;
    })
    .times(times)
    .reply(() => {
      state.refreshed += 1;
      return [200, grant(`access-${state.refreshed}`, `refresh-${state.refreshed + 1}`, options.expiresIn)];
    });
  return state;
}

describe('access tokens', () => {
  it('refreshes once for 10 concurrent callers (single flight) and caches the token', async () => {
    const used: string[] = [];
    tokenEndpoint(used, () => [200, grant('access-1', 'refresh-2')]);
    nock(apiOrigin, { reqheaders: { authorization: 'Bearer access-1' } })
      .get(`/v3/contact_lists/${listId}`)
      .query({ include_membership_count: 'all' })
      .times(11)
      .reply(200, list);
    const { client } = nockedClient({ limits: { requestsPerSecond: 20 } });
    const lists = await Promise.all(Array.from({ length: 10 }, () => client.getList(listId)));
    expect(lists.every((item) => item.membership_count === 3)).toBe(true);
    expect(used).toEqual([secrets.bootstrapRefreshToken]);
    await client.getList(listId);
    expect(used).toHaveLength(1);
  });

  it('uses the stored access token while it is valid: no refresh at all', async () => {
    const { clock } = nockedClient();
    const stored: StoredTokens = {
      refreshToken: 'refresh-stored',
      accessToken: 'access-stored',
      accessTokenExpiresAt: clock.now() + 3_600_000,
      bootstrapFingerprint: refreshTokenFingerprint(secrets.bootstrapRefreshToken),
      updatedAt: clock.now() - 60_000,
    };
    nock(apiOrigin, { reqheaders: { authorization: 'Bearer access-stored' } })
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(200, list);
    const { client } = nockedClient({ stored, clock });
    await client.getList(listId);
  });

  it('refreshes with the stored refresh token when its chain started from the same bootstrap token', async () => {
    const used: string[] = [];
    tokenEndpoint(used, () => [200, grant('access-2', 'refresh-3')]);
    const { clock } = nockedClient();
    const stored: StoredTokens = {
      refreshToken: 'refresh-stored',
      accessToken: 'access-old',
      accessTokenExpiresAt: clock.now() - 1,
      bootstrapFingerprint: refreshTokenFingerprint(secrets.bootstrapRefreshToken),
      updatedAt: clock.now() - 86_400_000,
    };
    const { client, store } = nockedClient({ stored, clock });
    await client.verifyCredentials();
    expect(used).toEqual(['refresh-stored']);
    expect(await store.load()).toMatchObject({ refreshToken: 'refresh-3', accessToken: 'access-2' });
  });

  it('starts over from the bootstrap token when the user re-authorised (fingerprint differs)', async () => {
    const used: string[] = [];
    tokenEndpoint(used, () => [200, grant('access-2', 'refresh-new')]);
    const stored: StoredTokens = {
      refreshToken: 'refresh-of-the-old-authorisation',
      accessToken: 'access-old',
      accessTokenExpiresAt: Date.UTC(2030, 0, 1),
      bootstrapFingerprint: refreshTokenFingerprint('the previous bootstrap token'),
      updatedAt: 0,
    };
    const { client, store } = nockedClient({ stored });
    await client.verifyCredentials();
    expect(used).toEqual([secrets.bootstrapRefreshToken]);
    expect(await store.load()).toMatchObject({
      refreshToken: 'refresh-new',
      bootstrapFingerprint: refreshTokenFingerprint(secrets.bootstrapRefreshToken),
    });
  });

  it('stores a rotated refresh token before it is ever used again', async () => {
    const events: string[] = [];
    const inner = new MemoryTokenStore();
    const store: TokenStore = {
      load: () => inner.load(),
      save: async (tokens) => {
        events.push(`save ${tokens.refreshToken}`);
        await inner.save(tokens);
      },
      withRefreshLock: (refresh) => inner.withRefreshLock(refresh),
    };
    rotatingTokenEndpoint(2, { onRequest: (used) => events.push(`refresh with ${used}`) });
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(401, { error_key: 'unauthorized', error_message: 'Unauthorized' })
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(200, list);
    const { client } = nockedClient({ tokenStore: store });
    await client.getList(listId);
    expect(events).toEqual([
      `refresh with ${secrets.bootstrapRefreshToken}`,
      'save refresh-2',
      'refresh with refresh-2',
      'save refresh-3',
    ]);
  });

  it('stores the rotated refresh token as the first thing after the token answer: before any log, event or use', async () => {
    // Issue #13 (7): the old refresh token is dead once Constant Contact has answered; a process
    // killed after the answer and before the save kept only the dead one. So nothing may come
    // between the two: not the request's log line or event, not a use of the new access token.
    const timeline: string[] = [];
    const inner = new MemoryTokenStore();
    const store: TokenStore = {
      load: () => inner.load(),
      save: (tokens) => {
        timeline.push(`save ${tokens.refreshToken}`);
        return inner.save(tokens);
      },
      withRefreshLock: (refresh) => inner.withRefreshLock(refresh),
    };
    nock(authOrigin)
      .post(tokenPath)
      .reply(() => {
        timeline.push('token endpoint answers');
        return [200, grant('access-1', 'refresh-2')];
      });
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(function () {
        timeline.push(`use ${String(this.req.headers.authorization)}`);
        return [200, list];
      });
    const { client } = nockedClient({
      tokenStore: store,
      onRequest: (event) => timeline.push(`event ${event.endpoint} ${event.status}`),
      logger: {
        debug: (_fields, message) => timeline.push(`log ${message}`),
        info: (_fields, message) => timeline.push(`log ${message}`),
        warn: (_fields, message) => timeline.push(`log ${message}`),
        error: (_fields, message) => timeline.push(`log ${message}`),
      },
    });
    await client.getList(listId);
    const answered = timeline.indexOf('token endpoint answers');
    expect(answered).toBeGreaterThanOrEqual(0);
    expect(timeline.slice(answered + 1, answered + 2)).toEqual(['save refresh-2']);
    expect(timeline.filter((entry) => entry.startsWith('save'))).toEqual(['save refresh-2']);
    expect(timeline.indexOf('use Bearer access-1')).toBeGreaterThan(answered + 1);
  });

  it('stores a rotated refresh token even from an answer that lacks the access token, then fails', async () => {
    nock(authOrigin).post(tokenPath).reply(200, { token_type: 'Bearer', refresh_token: 'refresh-2' });
    const { client, store } = nockedClient();
    const error = await client.verifyCredentials().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConstantContactError);
    expect(error).toMatchObject({ code: 'unexpected-response' });
    expect(await store.load()).toMatchObject({ refreshToken: 'refresh-2' });
    expect((await store.load())?.accessToken).toBeUndefined();
  });

  it('re-reads the store inside the lock: a refresh made meanwhile by another process is reused', async () => {
    const used: string[] = [];
    tokenEndpoint(used, () => [200, grant('access-from-a', 'refresh-2')]);
    nock(apiOrigin, { reqheaders: { authorization: 'Bearer access-from-a' } })
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .times(2)
      .reply(200, list);
    const shared = new MemoryTokenStore();
    // Two clients with separate memories (two processes) on one store.
    const a = nockedClient({ tokenStore: shared });
    const b = nockedClient({ tokenStore: shared, clock: a.clock });
    await Promise.all([a.client.getList(listId), b.client.getList(listId)]);
    expect(used).toEqual([secrets.bootstrapRefreshToken]);
  });

  it('turns invalid_grant into an AuthError that says to re-authorise the connection', async () => {
    tokenEndpoint([], () => [
      400,
      { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' },
    ]);
    const { client } = nockedClient();
    const error = await client.verifyCredentials().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'reauthorization-required', status: 400, errorKey: 'invalid_grant' });
    expect((error as AuthError).message).toContain('"marketing-cc"');
    expect((error as AuthError).message).toMatch(/re-authorise/i);
    expect((error as AuthError).hint).toContain('spec.auth.refreshToken');
    expect(JSON.stringify(error)).not.toContain('SECRET');
  });

  it('turns a refused client secret into AuthError invalid-client', async () => {
    tokenEndpoint([], () => [
      401,
      { error: 'invalid_client', error_description: 'Client authentication failed.' },
    ]);
    const { client } = nockedClient();
    await expect(client.verifyCredentials()).rejects.toMatchObject({ code: 'invalid-client', status: 401 });
  });

  it('retries the token endpoint on 503 and on a lost connection, then succeeds', async () => {
    nock(authOrigin).post(tokenPath).reply(503, 'unavailable');
    nock(authOrigin)
      .post(tokenPath)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    nock(authOrigin).post(tokenPath).reply(200, grant('access-1', 'refresh-2'));
    const { client, clock } = nockedClient();
    await client.verifyCredentials();
    expect(clock.sleeps.filter((ms) => ms >= 1000)).toEqual([1000, 2000]);
  });

  it('answers a 401 with one refresh and one retry, then gives up with AuthError unauthorized', async () => {
    rotatingTokenEndpoint(2);
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .times(2)
      .reply(401, { error_key: 'unauthorized', error_message: 'Unauthorized' });
    const { client, events } = nockedClient();
    const error = await client.getList(listId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(events.filter((event) => event.endpoint === 'api').map((event) => event.status)).toEqual([
      401, 401,
    ]);
    expect(events.filter((event) => event.endpoint === 'token')).toHaveLength(2);
  });

  it('keeps using a token until shortly before it expires', async () => {
    const endpoint = rotatingTokenEndpoint(2, { expiresIn: 3600 });
    const { client, clock } = nockedClient({ tokenExpiryMarginMs: 60_000 });
    await client.verifyCredentials();
    clock.advance(3600_000 - 60_001);
    await client.verifyCredentials();
    expect(endpoint.refreshed).toBe(1);
    clock.advance(2);
    await client.verifyCredentials();
    expect(endpoint.refreshed).toBe(2);
  });
});

describe('refreshTokenFingerprint', () => {
  it('is stable, distinct per token, and does not contain the token', () => {
    const fingerprint = refreshTokenFingerprint('my-refresh-token');
    expect(fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(refreshTokenFingerprint('my-refresh-token')).toBe(fingerprint);
    expect(refreshTokenFingerprint('my-refresh-token2')).not.toBe(fingerprint);
    expect(fingerprint).not.toContain('my-refresh-token');
  });
});
