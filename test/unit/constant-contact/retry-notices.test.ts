import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  ConstantContactError,
  refreshTokenFingerprint,
  retryNoticeLogger,
  type StoredTokens,
} from '../../../src/constant-contact';
import {
  apiOrigin,
  authOrigin,
  listId,
  nockedClient,
  secrets,
  tokenPath,
  useNock,
} from '../../support/nock-client';

useNock();

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

/** A client holding a valid access token, whose retry notices are collected as lines. */
function withNotices(options: Parameters<typeof nockedClient>[0] = {}, stored = true) {
  const lines: string[] = [];
  const base = nockedClient();
  const tokens: StoredTokens = {
    refreshToken: 'SECRET-refresh-stored',
    accessToken: 'SECRET-access-ok',
    accessTokenExpiresAt: base.clock.now() + 86_400_000,
    bootstrapFingerprint: refreshTokenFingerprint(secrets.bootstrapRefreshToken),
    updatedAt: base.clock.now(),
  };
  const nocked = nockedClient({
    ...(stored ? { stored: tokens } : {}),
    clock: base.clock,
    logger: retryNoticeLogger((line) => lines.push(line)),
    ...options,
  });
  return { ...nocked, lines };
}

const forbidden = [
  secrets.clientSecret,
  secrets.bootstrapRefreshToken,
  'SECRET-refresh-stored',
  'SECRET-access-ok',
  'Bearer',
  'Basic',
  '?',
];

describe('retry notices', () => {
  it('say, for every retry, the request, the wait, the attempt and why; never a secret or a query', async () => {
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .replyWithError(refused())
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(503, [{ error_key: 'unavailable', error_message: 'down' }])
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(429, { error_key: 'throttled', error_message: 'slow down' }, { 'Retry-After': '7' })
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(200, { list_id: listId, name: 'VIP' });
    const { client, lines } = withNotices();
    await client.getList(listId);
    expect(lines).toEqual([
      `retrying GET /v3/contact_lists/${listId} in 1 s (attempt 2/6): ECONNREFUSED`,
      `retrying GET /v3/contact_lists/${listId} in 2 s (attempt 3/6): HTTP 503 unavailable`,
      `retrying GET /v3/contact_lists/${listId} in 7 s (attempt 4/10): HTTP 429 throttled, Retry-After 7 s`,
    ]);
    for (const line of lines) for (const secret of forbidden) expect(line).not.toContain(secret);
  });

  it('come from the token endpoint too, by its path alone', async () => {
    nock(authOrigin).post(tokenPath).times(2).replyWithError(refused());
    nock(authOrigin).post(tokenPath).reply(200, { access_token: 'SECRET-new', expires_in: 86_400 });
    const { client, lines } = withNotices({}, false);
    await client.verifyCredentials();
    expect(lines).toEqual([
      `retrying POST ${tokenPath} in 1 s (attempt 2/6): ECONNREFUSED`,
      `retrying POST ${tokenPath} in 2 s (attempt 3/6): ECONNREFUSED`,
    ]);
    for (const line of lines)
      for (const secret of [...forbidden, 'SECRET-new']) expect(line).not.toContain(secret);
  });

  it('print a delay under 10 s with one decimal when it is not whole', async () => {
    nock(apiOrigin).get(`/v3/contact_lists/${listId}`).query(true).replyWithError(refused());
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(200, { list_id: listId, name: 'VIP' });
    const { client, lines } = withNotices({ random: () => 0.5 });
    await client.getList(listId);
    expect(lines).toEqual([`retrying GET /v3/contact_lists/${listId} in 0.8 s (attempt 2/6): ECONNREFUSED`]);
  });
});

describe('the request timeout of one call', () => {
  it('bounds the whole retry sequence: no backoff is started that would end past it', async () => {
    // Unbounded, 6 attempts wait 1 + 2 + 4 + 8 + 16 = 31 s; within 10 s only the waits of 1, 2 and 4 s fit.
    nock(apiOrigin).get(`/v3/contact_lists/${listId}`).query(true).times(4).replyWithError(refused());
    const { client, clock, lines } = withNotices({ timeouts: { callMs: 10_000 } });
    const started = clock.now();
    const error = await client.getList(listId).catch((caught: unknown) => caught);
    expect(clock.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(ConstantContactError);
    expect(error).toMatchObject({ code: 'network-error', attempts: 4 });
    expect((error as ConstantContactError).message).toContain('10 s');
    expect((error as ConstantContactError).hint).toContain('spec.endpoints');
    expect(lines).toHaveLength(3);
  });

  it("cuts each attempt's timeout to what is left of the call", async () => {
    // After a refused attempt and a 1 s wait, 100 ms are left: the second attempt may wait no longer,
    // although an attempt may otherwise wait 30 s (requestMs).
    nock(apiOrigin).get(`/v3/contact_lists/${listId}`).query(true).replyWithError(refused());
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .delayConnection(3_000)
      .reply(200, { list_id: listId, name: 'VIP' });
    const { client } = withNotices({ timeouts: { callMs: 1_100 } });
    const started = performance.now();
    await expect(client.getList(listId)).rejects.toMatchObject({ code: 'request-timeout', attempts: 2 });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('is 30 s by default', async () => {
    nock(apiOrigin).get(`/v3/contact_lists/${listId}`).query(true).times(5).replyWithError(refused());
    const { client, clock } = withNotices();
    const started = clock.now();
    await expect(client.getList(listId)).rejects.toMatchObject({ code: 'network-error', attempts: 5 });
    expect(clock.now() - started).toBeLessThanOrEqual(30_000);
  });

  it('bounds a token refresh the same way, and says so', async () => {
    nock(authOrigin).post(tokenPath).times(3).replyWithError(refused());
    const { client, clock } = withNotices({ timeouts: { callMs: 5_000 } }, false);
    const started = clock.now();
    const error = await client.verifyCredentials().catch((caught: unknown) => caught);
    expect(clock.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: 'token-request-failed', attempts: 3 });
    expect((error as ConstantContactError).message).toContain('5 s');
  });
});
