import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthError, QuotaExceededError } from '../../../src/constant-contact';
import {
  raw,
  sandboxAccessToken,
  sandboxBasicAuth,
  sandboxClient,
  sandboxTokenRequest,
  testSandbox,
  vipListId,
} from '../../support/sandbox-client';
import { tempFolder } from '../../support/temp-folder';

const basic = sandboxBasicAuth;
const tokenRequest = sandboxTokenRequest;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sandbox OAuth', () => {
  it('rotates refresh tokens: the used one answers invalid_grant, the new one works', async () => {
    const sandbox = await testSandbox();
    const first = await tokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: 'sandbox-refresh-token',
    });
    expect(first.status).toBe(200);
    expect(first.data).toMatchObject({
      token_type: 'Bearer',
      expires_in: 86_400,
      scope: 'contact_data offline_access',
    });
    expect(first.data.refresh_token).not.toBe('sandbox-refresh-token');
    await sleep(1_050); // the token endpoint allows 1 request per second
    const reused = await tokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: 'sandbox-refresh-token',
    });
    expect(reused.status).toBe(400);
    expect(reused.data).toEqual({
      error: 'invalid_grant',
      error_description: 'The refresh token is invalid or expired.',
    });
    await sleep(1_050);
    const next = await tokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: first.data.refresh_token,
    });
    expect(next.status).toBe(200);
  });

  it('refuses a wrong client secret, another grant type, and a second token request within a second', async () => {
    const sandbox = await testSandbox();
    const wrong = await tokenRequest(
      sandbox,
      { grant_type: 'refresh_token', refresh_token: 'x' },
      basic('nope'),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.data.error).toBe('invalid_client');
    const grant = await tokenRequest(sandbox, { grant_type: 'password', refresh_token: 'x' });
    expect(grant.status).toBe(400);
    expect(grant.data.error).toBe('unsupported_grant_type');
    const fast = await tokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: 'sandbox-refresh-token',
    });
    expect(fast.status).toBe(429);
    await sleep(1_050);
    // The refused request did not spend the refresh token.
    const ok = await tokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: 'sandbox-refresh-token',
    });
    expect(ok.status).toBe(200);
  });

  it('answers 401 with CC body for missing, unknown and expired access tokens; the client refreshes once', async () => {
    let now = Date.now();
    const sandbox = await testSandbox({ now: () => now, accessTokenTtlSeconds: 60 });
    const unauthorized = { error_key: 'unauthorized', error_message: 'Unauthorized' };
    expect((await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`)).data).toEqual(unauthorized);
    const unknown = await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token: 'made-up' });
    expect([unknown.status, unknown.data]).toEqual([401, unauthorized]);

    const { client, events } = sandboxClient(sandbox, { tokenExpiryMarginMs: 0 });
    await client.getList(vipListId);
    now += 61_000; // the sandbox's clock: the token expired there, the client still trusts it
    await sleep(1_050);
    await expect(client.getList(vipListId)).resolves.toMatchObject({ list_id: vipListId });
    expect(events.map((event) => `${event.endpoint} ${event.status}`)).toEqual([
      'token 200',
      'api 200',
      'api 401',
      'token 200',
      'api 200',
    ]);
  });
});

describe('sandbox rate limits', () => {
  it('answers 429 throttled with CC body beyond 4 requests in a second', async () => {
    const sandbox = await testSandbox({ clientLimits: { requestsPerSecond: 4 } });
    const { access_token: token } = await sandboxAccessToken(sandbox);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token })),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(4);
    const throttled = answers.filter((answer) => answer.status === 429);
    expect(throttled).toHaveLength(4);
    expect(throttled[0]?.data).toEqual({
      error_key: 'throttled',
      error_message: 'Too many requests: more than the requests per second allowed for this API key.',
    });
    expect(sandbox.stats()).toMatchObject({ throttled: 4, maxInAnySecond: 8 });
  });

  it('answers 429 quota_exceeded past the daily quota; the client stops until 00:00 UTC', async () => {
    const sandbox = await testSandbox({ clientLimits: { requestsPerDay: 3 } });
    const { client, events } = sandboxClient(sandbox);
    for (let index = 0; index < 3; index++) await client.getList(vipListId);
    const error = await client.getList(vipListId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error).toMatchObject({ code: 'quota-exceeded', errorKey: 'quota_exceeded', status: 429 });
    const resumeAt = (error as QuotaExceededError).resumeAt;
    expect(resumeAt.getUTCHours()).toBe(0);
    expect(resumeAt.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    expect(events.filter((event) => event.quotaExceeded)).toHaveLength(1);
    expect(sandbox.stats().quotaExceeded).toBe(1);
  });

  it('sees no second with more than 4 requests from a client at the default limits', async () => {
    const sandbox = await testSandbox({ clientLimits: { requestsPerSecond: 4 } });
    const { client } = sandboxClient(sandbox, { limits: {} });
    await Promise.all(Array.from({ length: 10 }, () => client.getList(vipListId)));
    const stats = sandbox.stats();
    expect(stats.total).toBe(10);
    expect(stats.throttled).toBe(0);
    expect(stats.maxInAnySecond).toBe(4);
  });
});

describe('sandbox restarts', () => {
  it('keeps the rotated refresh token in --state-file, so the client goes on after a restart', async () => {
    const stateFile = join(tempFolder(), 'sandbox-state.json');
    const first = await testSandbox({ stateFile });
    const { client, store } = sandboxClient(first);
    await client.importContacts({ contacts: [{ email: 'kept@example.com' }], listIds: [vipListId] });
    await first.close();

    const second = await testSandbox({ stateFile });
    second.revokeAccessTokens();
    // A new process: only the stored tokens carry over.
    const again = sandboxClient(second, { tokenStore: store });
    await expect(again.client.getList(vipListId)).resolves.toMatchObject({ membership_count: 1 });
    expect(again.events.map((event) => `${event.endpoint} ${event.status}`)).toEqual([
      'api 401',
      'token 200',
      'api 200',
    ]);
    await second.close();
  });

  it('without a state file, a restart loses the token chain: AuthError says how to recover', async () => {
    const first = await testSandbox();
    const { client, store } = sandboxClient(first);
    await client.verifyCredentials();
    await first.close();
    const second = await testSandbox();
    const again = sandboxClient(second, { tokenStore: store, tokenExpiryMarginMs: 0 });
    second.revokeAccessTokens();
    const error = await again.client.getList(vipListId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 'reauthorization-required' });
    expect((error as AuthError).hint).toContain('--state-file');
  });
});
