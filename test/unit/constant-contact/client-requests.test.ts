import { inspect } from 'node:util';
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import {
  ConstantContactError,
  importBody,
  importEntryJson,
  QuotaExceededError,
  RateLimitError,
  refreshTokenFingerprint,
  type StoredTokens,
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

const list = { list_id: listId, name: 'VIP' };
const activityId = 'a1b2c3d4-0000-4000-8000-000000000001';
const activity = (
  state: string,
  status: Record<string, number> = {},
  extra: Record<string, unknown> = {},
) => ({
  activity_id: activityId,
  state,
  percent_done: state === 'completed' ? 100 : 0,
  activity_errors: [],
  status: { items_total_count: 2, ...status },
  _links: { self: { href: `/v3/activities/${activityId}` } },
  ...extra,
});

/** A client that already holds a valid access token, so tests see only API traffic. */
function ready(options: Parameters<typeof nockedClient>[0] = {}) {
  const base = nockedClient();
  const stored: StoredTokens = {
    refreshToken: 'refresh-stored',
    accessToken: 'access-ok',
    accessTokenExpiresAt: base.clock.now() + 86_400_000,
    bootstrapFingerprint: refreshTokenFingerprint(secrets.bootstrapRefreshToken),
    updatedAt: base.clock.now(),
  };
  return nockedClient({ stored, clock: base.clock, ...options });
}

const api = () => nock(apiOrigin, { reqheaders: { authorization: 'Bearer access-ok' } });
const resetError = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

describe('retries', () => {
  it('retries 503 and 500 on a GET with capped, jittered backoff, then succeeds', async () => {
    api()
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(503, [{ error_key: 'down', error_message: 'down' }])
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(500)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .replyWithError(resetError())
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(200, list);
    const { client, clock, events } = ready();
    await expect(client.getList(listId)).resolves.toMatchObject(list);
    expect(clock.sleeps.filter((ms) => ms >= 1000)).toEqual([1000, 2000, 4000]);
    expect(events.map((event) => [event.status, event.attempt, event.failure])).toEqual([
      [503, 1, undefined],
      [500, 2, undefined],
      [undefined, 3, 'ECONNRESET'],
      [200, 4, undefined],
    ]);
  });

  it('gives up after maxAttempts with server-error and the attempt count', async () => {
    api().get(`/v3/contact_lists/${listId}`).query(true).times(3).reply(502);
    const { client } = ready({ retryPolicy: { maxAttempts: 3 } });
    const error = await client.getList(listId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConstantContactError);
    expect(error).toMatchObject({ code: 'server-error', status: 502, attempts: 3, mayHaveSucceeded: false });
  });

  it('retries 429 throttled, reporting throttled events, and ends with RateLimitError if it never clears', async () => {
    const throttled = { error_key: 'throttled', error_message: 'Too many requests' };
    api()
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(429, throttled)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(200, list);
    const first = ready();
    await first.client.getList(listId);
    expect(first.events.map((event) => event.throttled)).toEqual([true, false]);

    api().get(`/v3/contact_lists/${listId}`).query(true).times(2).reply(429, throttled);
    const second = ready({ retryPolicy: { maxThrottledAttempts: 2 } });
    const error = await second.client.getList(listId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ code: 'throttled', errorKey: 'throttled', attempts: 2 });
  });

  it('stops at quota_exceeded with the resume time, and refuses further calls without sending them', async () => {
    api()
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(429, { error_key: 'quota_exceeded', error_message: 'Daily quota exceeded' });
    const { client, clock, events } = ready();
    const error = await client.getList(listId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuotaExceededError);
    const resumeAt = (error as QuotaExceededError).resumeAt;
    expect(resumeAt.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(resumeAt.getTime()).toBeGreaterThan(clock.now());
    expect(events).toHaveLength(1);
    expect(events[0]?.quotaExceeded).toBe(true);
    // No second request: the limiter knows the day is over (nock would fail on an unexpected call).
    await expect(client.getList(listId)).rejects.toBeInstanceOf(QuotaExceededError);
    expect(client.quota().exhaustedUntil).toEqual(resumeAt);
  });

  it('never retries other 4xx, and carries CC error_key/error_message, status, method and path', async () => {
    api()
      .post('/v3/activities/contacts_json_import')
      .reply(400, [
        { error_key: 'contacts.api.validation.error', error_message: 'import_data[0].email is required' },
        { error_key: 'contacts.api.validation.error', error_message: 'list_ids is required' },
      ]);
    const { client, events } = ready();
    const error = await client
      .importContacts({ contacts: [{ email: 'a@example.com' }], listIds: [listId] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'bad-request',
      status: 400,
      errorKey: 'contacts.api.validation.error; contacts.api.validation.error',
      errorMessage: 'import_data[0].email is required; list_ids is required',
      request: {
        method: 'POST',
        pathTemplate: '/activities/contacts_json_import',
        path: '/v3/activities/contacts_json_import',
      },
      attempts: 1,
    });
    expect(events).toHaveLength(1);
  });

  it('maps 404 on a list to list-not-found, 403 to forbidden, 409 to conflict', async () => {
    api()
      .get(`/v3/contact_lists/${listId}`)
      .query({ include_membership_count: 'all' })
      .reply(404, [{ error_key: 'contacts.api.not.found', error_message: 'not found' }])
      .get(`/v3/activities/${activityId}`)
      .reply(403, [{ error_key: 'forbidden', error_message: 'no scope' }])
      .post('/v3/contact_lists', { name: 'VIP' })
      .reply(409, [{ error_key: 'conflict', error_message: 'name taken' }]);
    const { client } = ready();
    await expect(client.getList(listId)).rejects.toMatchObject({ code: 'list-not-found', status: 404 });
    await expect(client.getActivity(activityId)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(client.createList({ name: 'VIP' })).rejects.toMatchObject({ code: 'conflict', status: 409 });
  });

  it('does not resend an import after a 500, a lost connection or a timeout, and says it may have succeeded', async () => {
    api()
      .post('/v3/activities/contacts_json_import')
      .reply(500)
      .post('/v3/activities/contacts_json_import')
      .replyWithError(resetError())
      .post('/v3/activities/contacts_json_import')
      .delay(300)
      .reply(201, activity('initialized'));
    const { client, clock } = ready({ timeouts: { importMs: 50 } });
    const request = { contacts: [{ email: 'a@example.com' }], listIds: [listId] };
    for (const code of ['server-error', 'network-error', 'request-timeout']) {
      const error = await client.importContacts(request).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code, mayHaveSucceeded: true, attempts: 1, sentAt: clock.now() });
      expect((error as Error).message).toContain('GET /activities');
    }
  });

  it('does resend an import after 503 or 429 throttled: nothing was done', async () => {
    api()
      .post('/v3/activities/contacts_json_import')
      .reply(503)
      .post('/v3/activities/contacts_json_import')
      .reply(429, { error_key: 'throttled' })
      .post('/v3/activities/contacts_json_import')
      .reply(201, activity('initialized'));
    const { client } = ready();
    const report = await client.importContacts({ contacts: [{ email: 'a@example.com' }], listIds: [listId] });
    expect(report).toMatchObject({ activityId, state: 'initialized', final: false });
  });
});

describe('endpoints', () => {
  it('sends exactly the import body the batch sizes measured', async () => {
    const contacts = [
      { email: 'zoë@example.com', first_name: 'Zoë', last_name: 'Müller' },
      { email: 'b@example.com', first_name: '美咲' },
    ];
    const expected = JSON.stringify(importBody(contacts, [listId]));
    let sent = '';
    api()
      .matchHeader('content-type', /^application\/json/)
      .post('/v3/activities/contacts_json_import', (body: unknown) => {
        sent = JSON.stringify(body);
        return true;
      })
      .reply(201, activity('initialized'));
    const { client } = ready();
    await client.importContacts({ contacts, listIds: [listId] });
    expect(sent).toBe(expected);
  });

  it('sends a serialized import (importEntryJson entries) as the very bytes the contacts would make', async () => {
    const contacts = [
      { email: 'zoë@example.com', first_name: 'Zoë', last_name: 'Müller' },
      { email: 'b@example.com', first_name: '美咲' },
    ];
    let sent = '';
    api()
      .matchHeader('content-type', /^application\/json/)
      .post('/v3/activities/contacts_json_import')
      .reply(201, (_uri, body) => {
        sent = typeof body === 'string' ? body : JSON.stringify(body);
        return activity('initialized');
      });
    const { client, events } = ready();
    const report = await client.importContacts({
      importData: Buffer.from(contacts.map(importEntryJson).join(',')),
      contacts: contacts.length,
      listIds: [listId],
    });
    expect(report.activityId).toBe(activityId);
    expect(sent).toBe(JSON.stringify(importBody(contacts, [listId])));
    expect(events.map((event) => `${event.method} ${event.pathTemplate} ${event.status}`)).toContain(
      'POST /activities/contacts_json_import 201',
    );
  });

  it('refuses batches Constant Contact would refuse or cut, before sending anything', async () => {
    const { client } = ready();
    const contacts = Array.from({ length: 40_001 }, (_, index) => ({ email: `c${index}@example.com` }));
    await expect(client.importContacts({ contacts, listIds: [listId] })).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    const big = Array.from({ length: 40_000 }, (_, index) => ({
      email: `c${index}@example.com`,
      first_name: 'x'.repeat(100),
    }));
    await expect(client.importContacts({ contacts: big, listIds: [listId] })).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    await expect(
      client.importContacts({ contacts: [{ email: 'a@b.c' }], listIds: [] }),
    ).rejects.toMatchObject({
      code: 'invalid-argument',
    });
    const ids = Array.from({ length: 501 }, () => activityId);
    await expect(client.removeListMemberships({ contactIds: ids, listIds: [listId] })).rejects.toMatchObject({
      code: 'invalid-argument',
    });
  });

  it('removes memberships by contact IDs, retrying it like a GET (removing twice is harmless)', async () => {
    const contactIds = ['c0ffee00-0000-4000-8000-000000000001', 'c0ffee00-0000-4000-8000-000000000002'];
    api()
      .post('/v3/activities/remove_list_memberships')
      .reply(500)
      .post('/v3/activities/remove_list_memberships', {
        source: { contact_ids: contactIds },
        list_ids: [listId],
      })
      .reply(201, activity('initialized'));
    const { client } = ready();
    await expect(client.removeListMemberships({ contactIds, listIds: [listId] })).resolves.toMatchObject({
      activityId,
    });
  });

  it('polls an activity with growing delays until it is final, and returns its counters', async () => {
    api()
      .get(`/v3/activities/${activityId}`)
      .reply(200, activity('initialized'))
      .get(`/v3/activities/${activityId}`)
      .reply(200, activity('processing'))
      .get(`/v3/activities/${activityId}`)
      .reply(200, activity('processing'))
      .get(`/v3/activities/${activityId}`)
      .reply(
        200,
        activity(
          'completed',
          {
            items_completed_count: 2,
            person_count: 1,
            error_count: 1,
            correctable_count: 1,
            cannot_add_to_list_count: 1,
          },
          { activity_errors: ['Row 2: invalid email address'] },
        ),
      );
    const { client, clock } = ready({
      activityPolling: { initialDelayMs: 1000, factor: 2, maxDelayMs: 3000 },
    });
    const report = await client.waitForActivity(activityId);
    expect(clock.sleeps).toEqual([1000, 2000, 3000]);
    expect(report).toMatchObject({
      state: 'completed',
      final: true,
      needsResubmit: false,
      errors: ['Row 2: invalid email address'],
      counters: {
        items_total_count: 2,
        items_completed_count: 2,
        person_count: 1,
        error_count: 1,
        correctable_count: 1,
        cannot_add_to_list_count: 1,
        list_count: 0,
      },
    });
  });

  it('reports failed and timed-out activities for resubmission, and stops waiting at the deadline', async () => {
    api().get(`/v3/activities/${activityId}`).reply(200, activity('timed_out'));
    const { client } = ready();
    await expect(client.waitForActivity(activityId)).resolves.toMatchObject({
      state: 'timed_out',
      final: true,
      needsResubmit: true,
    });
    api().get(`/v3/activities/${activityId}`).times(3).reply(200, activity('processing'));
    const waiting = ready({ activityPolling: { initialDelayMs: 1000, factor: 1, timeoutMs: 2500 } });
    await expect(waiting.client.waitForActivity(activityId)).rejects.toMatchObject({
      code: 'activity-wait-timeout',
    });
  });

  it('waits for several activities with one request per round', async () => {
    const second = 'a1b2c3d4-0000-4000-8000-000000000002';
    const third = 'a1b2c3d4-0000-4000-8000-000000000003';
    const page = (states: string[]) => ({
      activities: [activityId, second, third].map((id, index) => ({
        ...activity(states[index] ?? 'processing'),
        activity_id: id,
      })),
    });
    api()
      .get('/v3/activities')
      .query({ limit: 500 })
      .reply(200, page(['processing', 'completed', 'processing']))
      .get('/v3/activities')
      .query({ limit: 500 })
      .reply(200, page(['processing', 'completed', 'failed']))
      .get(`/v3/activities/${activityId}`)
      .reply(200, activity('completed'));
    const { client, events } = ready();
    const reports = await client.waitForActivities([activityId, second, third]);
    expect([...reports.keys()].sort()).toEqual([activityId, second, third].sort());
    expect(reports.get(third)).toMatchObject({ state: 'failed', needsResubmit: true });
    // Three activities, three rounds, three requests: the last one pending is polled on its own.
    expect(events.map((event) => event.pathTemplate)).toEqual([
      '/activities',
      '/activities',
      '/activities/{activity_id}',
    ]);
  });

  it('lists activities to find an import a failed POST may have created', async () => {
    api()
      .get('/v3/activities')
      .query({ limit: 100, state: 'processing' })
      .reply(200, { activities: [activity('processing', {}, { created_at: '2026-11-22T12:00:01.000Z' })] });
    const { client } = ready();
    const [found] = await client.listActivities({ state: 'processing', limit: 100 });
    expect(found).toMatchObject({ activityId, createdAt: '2026-11-22T12:00:01.000Z' });
  });

  it('pages through a list by following _links.next.href', async () => {
    const contact = (index: number) => ({
      contact_id: `c0ffee00-0000-4000-8000-00000000000${index}`,
      email_address: { address: `Person${index}@Example.com` },
    });
    api()
      .get('/v3/contacts')
      .query({ lists: listId, limit: 2 })
      .reply(200, {
        contacts: [contact(1), contact(2)],
        _links: { next: { href: '/v3/contacts?cursor=abc' } },
      })
      .get('/v3/contacts')
      .query({ cursor: 'abc' })
      .reply(200, { contacts: [contact(3)] });
    const { client } = ready();
    const pages: string[][] = [];
    for await (const members of client.pageListMembers(listId, { pageSize: 2 }))
      pages.push(members.map((m) => m.contactId));
    expect(pages).toEqual([
      ['c0ffee00-0000-4000-8000-000000000001', 'c0ffee00-0000-4000-8000-000000000002'],
      ['c0ffee00-0000-4000-8000-000000000003'],
    ]);
  });

  it('follows links only on the API origin: the access token goes with them', async () => {
    api()
      .get('/v3/contacts')
      .query(true)
      .reply(200, {
        contacts: [],
        _links: { next: { href: 'https://elsewhere.test/v3/contacts?cursor=x' } },
      });
    const { client } = ready();
    const pages = client.pageListMembers(listId);
    await pages.next();
    await expect(pages.next()).rejects.toMatchObject({ code: 'unexpected-response' });
  });

  it('maps emails to contact IDs with one export activity and one download', async () => {
    const exportId = 'e0000000-0000-4000-8000-000000000001';
    api()
      .post('/v3/activities/contact_exports', { list_ids: [listId], fields: ['email_address'] })
      .reply(201, { ...activity('initialized'), activity_id: exportId })
      .get(`/v3/activities/${exportId}`)
      .reply(200, {
        ...activity('completed'),
        activity_id: exportId,
        _links: {
          self: { href: `/v3/activities/${exportId}` },
          results: { href: `/v3/contact_exports/${exportId}` },
        },
      })
      .get(`/v3/contact_exports/${exportId}`)
      .reply(200, 'contact_id,email_address\r\nc-1,Ada@Example.com\r\nc-2,"b,c@example.com"\r\n', {
        'Content-Type': 'text/csv',
      });
    const { client } = ready();
    const map = await client.emailsToContactIds(listId, 'export');
    expect([...map]).toEqual([
      ['ada@example.com', 'c-1'],
      ['b,c@example.com', 'c-2'],
    ]);
  });
});

describe('secrets', () => {
  it('never put a credential or token in an error, a log line or an event', async () => {
    const rotated = 'SECRET-rotated-refresh';
    nock(authOrigin).post(tokenPath).reply(200, grant('SECRET-access-1', rotated));
    nock(apiOrigin)
      .get(`/v3/contact_lists/${listId}`)
      .query(true)
      .reply(401, { error_key: 'unauthorized', error_message: 'Unauthorized' });
    nock(authOrigin).post(tokenPath).replyWithError(resetError());
    nock(authOrigin).post(tokenPath).reply(400, { error: 'invalid_grant', error_description: 'bad token' });
    const { client, logs, events } = nockedClient();
    const error = await client.getList(listId).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'reauthorization-required' });

    nock(apiOrigin).get(`/v3/activities/${activityId}`).replyWithError(resetError());
    const other = ready({ retryPolicy: { maxAttempts: 1 } });
    const networkError = await other.client.getActivity(activityId).catch((caught: unknown) => caught);
    expect(networkError).toMatchObject({ code: 'network-error' });

    const forbidden = [
      secrets.clientSecret,
      secrets.bootstrapRefreshToken,
      rotated,
      'SECRET-access-1',
      'access-ok',
      'refresh-stored',
      Buffer.from(`client-id:${secrets.clientSecret}`).toString('base64'),
      'Bearer',
      'Basic',
    ];
    const texts = [error, networkError].flatMap((item) => [
      JSON.stringify(item),
      inspect(item, { depth: 20, showHidden: true }),
      String((item as Error).stack),
    ]);
    texts.push(...logs, ...other.logs, JSON.stringify(events), JSON.stringify(other.events));
    for (const text of texts) for (const secret of forbidden) expect(text).not.toContain(secret);
  });
});
