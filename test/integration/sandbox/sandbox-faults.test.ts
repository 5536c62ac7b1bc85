import { describe, expect, it } from 'vitest';
import type { SandboxFaultRates } from '../../../src/sandbox';
import {
  raw,
  sandboxAccessToken,
  sandboxClient,
  sandboxTokenRequest,
  testSandbox,
  vipListId,
} from '../../support/sandbox-client';

const importBody = (email: string) => JSON.stringify({ import_data: [{ email }], list_ids: [vipListId] });

describe('sandbox fault injection', () => {
  it('the client recovers from resets, 500s, 503s and 429s on reads', async () => {
    const sandbox = await testSandbox({
      faults: { seed: 2, connectionReset: 0.1, serverError: 0.1, unavailable: 0.1, throttled: 0.1 },
    });
    const { client, events } = sandboxClient(sandbox);
    for (let index = 0; index < 30; index++)
      await expect(client.getList(vipListId)).resolves.toMatchObject({ list_id: vipListId });
    const faults = sandbox.stats().faults;
    for (const fault of ['connection-reset', 'server-error', 'unavailable', 'throttled']) {
      expect(faults[fault], fault).toBeGreaterThan(0);
    }
    expect(events.filter((event) => event.attempt > 1).length).toBeGreaterThan(0);
  });

  it('imports go through 503s and 429s, which the client may safely resend', async () => {
    const sandbox = await testSandbox({ faults: { seed: 3, unavailable: 0.3, throttled: 0.3 } });
    const { client } = sandboxClient(sandbox);
    const ids: string[] = [];
    for (let index = 0; index < 8; index++) {
      const report = await client.importContacts({
        contacts: [{ email: `p${index}@example.com` }],
        listIds: [vipListId],
      });
      ids.push(report.activityId);
    }
    await client.waitForActivities(ids);
    await expect(client.getList(vipListId)).resolves.toMatchObject({ membership_count: 8 });
    expect(sandbox.stats().faults.unavailable).toBeGreaterThan(0);
  });

  it('an access token revoked early costs one refresh and one retry', async () => {
    const sandbox = await testSandbox({ faults: { seed: 18, tokenExpiry: 0.5, paths: ['/contact_lists'] } });
    const { client, events } = sandboxClient(sandbox);
    await client.getList(vipListId);
    await client.getList(vipListId);
    expect(sandbox.stats().faults['token-expiry']).toBe(1);
    expect(events.map((event) => `${event.endpoint} ${event.status}`)).toEqual([
      'token 200',
      'api 401',
      'token 200',
      'api 200',
      'api 200',
    ]);
  });

  it('a slow answer that outlasts the timeout leaves an import that may have succeeded, found by listing activities', async () => {
    const sandbox = await testSandbox({
      faults: { slow: 1, slowMs: 400, paths: ['/activities/contacts_json_import'] },
    });
    const { client } = sandboxClient(sandbox, { timeouts: { importMs: 100 } });
    const error = await client
      .importContacts({ contacts: [{ email: 'slow@example.com' }], listIds: [vipListId] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'request-timeout', mayHaveSucceeded: true });
    const sentAt = (error as { sentAt: number }).sentAt;
    const recent = await client.listActivities();
    const created = recent.filter((activity) => Date.parse(activity.createdAt ?? '') >= sentAt - 5);
    expect(created).toHaveLength(1);
    await expect(client.waitForActivity(created[0]?.activityId ?? '')).resolves.toMatchObject({
      state: 'completed',
      counters: { items_total_count: 1 },
    });
  });

  it('replays the same faults for the same seed and requests', async () => {
    const statuses = async (rates: SandboxFaultRates) => {
      const sandbox = await testSandbox({ faults: rates });
      const { access_token: token } = await sandboxAccessToken(sandbox);
      const seen: number[] = [];
      for (let index = 0; index < 20; index++) {
        seen.push((await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token })).status);
      }
      return seen;
    };
    const rates = { seed: 42, serverError: 0.3, unavailable: 0.2 };
    const first = await statuses(rates);
    expect(first).toEqual(await statuses(rates));
    expect(new Set(first)).toEqual(new Set([200, 500, 503]));
    expect(await statuses({ ...rates, seed: 43 })).not.toEqual(first);
  });

  it('with perRoute, the Nth request of a route meets the same fault however many other requests came between', async () => {
    const importStatuses = async (readsBetween: number) => {
      const sandbox = await testSandbox({ faults: { seed: 7, serverError: 0.4, perRoute: true } });
      const { access_token: token } = await sandboxAccessToken(sandbox);
      const seen: number[] = [];
      for (let index = 0; index < 12; index++) {
        for (let read = 0; read < readsBetween; read++)
          await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token });
        const answer = await raw(sandbox, 'POST', '/v3/activities/contacts_json_import', {
          token,
          body: importBody(`p${index}@example.com`),
          contentType: 'application/json',
        });
        seen.push(answer.status);
      }
      return seen;
    };
    const alone = await importStatuses(0);
    expect(new Set(alone)).toEqual(new Set([201, 500]));
    expect(await importStatuses(3)).toEqual(alone);
  });

  it('lists a slow answer as held while it waits, its request already carried out', async () => {
    const sandbox = await testSandbox({
      faults: { slow: 1, slowMs: 400, paths: ['/activities/contacts_json_import'] },
    });
    const { access_token: token } = await sandboxAccessToken(sandbox);
    const pending = raw(sandbox, 'POST', '/v3/activities/contacts_json_import', {
      token,
      body: importBody('held@example.com'),
      contentType: 'application/json',
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const held = (await raw(sandbox, 'GET', '/__sandbox/held')).data as { held: { route: string }[] };
    expect(held.held.map((entry) => entry.route)).toEqual(['POST /v3/activities/contacts_json_import']);
    expect(sandbox.account.activities()).toHaveLength(1);
    expect((await pending).status).toBe(201);
    expect(sandbox.held()).toEqual([]);
  });

  it('tokenSlow holds a granted token: the used refresh token is spent before the answer leaves', async () => {
    const sandbox = await testSandbox({ faults: { tokenSlow: 1, slowMs: 400 } });
    const pending = sandboxTokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: 'sandbox-refresh-token',
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sandbox.held().map((entry) => entry.route)).toEqual(['token']);
    sandbox.setFaults({});
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the token endpoint's 1 request/second
    const reused = await sandboxTokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: 'sandbox-refresh-token',
    });
    expect(reused.data).toMatchObject({ error: 'invalid_grant' });
    const granted = await pending;
    expect(granted.status).toBe(200);
    expect(granted.data).toMatchObject({ token_type: 'Bearer' });
  });

  it("PUT /__sandbox/limits changes a client's daily quota at runtime", async () => {
    const sandbox = await testSandbox();
    const { access_token: token } = await sandboxAccessToken(sandbox);
    expect((await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token })).status).toBe(200);
    const changed = await raw(sandbox, 'POST', '/__sandbox/limits', {
      body: JSON.stringify({ clientId: 'sandbox-client', requestsPerDay: 2 }),
      contentType: 'application/json',
    });
    expect(changed.status).toBe(200);
    expect((await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token })).status).toBe(200);
    const refused = await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token });
    expect(refused.status).toBe(429);
    expect(refused.data).toMatchObject({ error_key: 'quota_exceeded' });
    const limits = (await raw(sandbox, 'GET', '/__sandbox/limits')).data as { clients: unknown[] };
    expect(limits.clients).toEqual([
      { clientId: 'sandbox-client', requestsPerSecond: 100, requestsPerDay: 2, usedToday: 2 },
    ]);
    expect(
      (
        await raw(sandbox, 'POST', '/__sandbox/limits', {
          body: JSON.stringify({ clientId: 'nobody', requestsPerDay: 5 }),
          contentType: 'application/json',
        })
      ).status,
    ).toBe(404);
    expect(sandbox.setClientLimits(undefined, { requestsPerDay: 10 })).toBe(true);
    expect((await raw(sandbox, 'GET', `/v3/contact_lists/${vipListId}`, { token })).status).toBe(200);
  });

  it('POST /__sandbox/refresh-tokens issues a fresh refresh token, as re-authorising does', async () => {
    const sandbox = await testSandbox();
    const issued = await raw(sandbox, 'POST', '/__sandbox/refresh-tokens', {
      body: JSON.stringify({ clientId: 'sandbox-client' }),
      contentType: 'application/json',
    });
    expect(issued.status).toBe(200);
    const { refreshToken } = issued.data as { refreshToken: string };
    const granted = await sandboxTokenRequest(sandbox, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    expect(granted.status).toBe(200);
    const unknown = await raw(sandbox, 'POST', '/__sandbox/refresh-tokens', {
      body: JSON.stringify({ clientId: 'nobody' }),
      contentType: 'application/json',
    });
    expect(unknown.status).toBe(404);
  });
});
