import { describe, expect, it } from 'vitest';
import type { SandboxFaultRates } from '../../../src/sandbox';
import { raw, sandboxAccessToken, sandboxClient, testSandbox, vipListId } from '../../support/sandbox-client';

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
});
