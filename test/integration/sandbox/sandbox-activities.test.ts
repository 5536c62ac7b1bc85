import { describe, expect, it } from 'vitest';
import {
  cutImportBatches,
  type SwaggerDefinitionName,
  type SwaggerOperation,
  validateSwaggerDefinition,
} from '../../../src/constant-contact';
import subset from '../../../src/constant-contact/swagger-subset.generated.json';
import {
  raw,
  sandboxAccessToken,
  sandboxClient,
  testSandbox,
  vipListId,
  winBackListId,
} from '../../support/sandbox-client';

interface MembersAnswer {
  count: number;
  members: Array<{ contact_id: string; email: string; first_name: string | null; unsubscribed: boolean }>;
}

/** Polls an activity with a raw access token until it completes; resolves with its last answer. */
async function untilCompleted(sandbox: Parameters<typeof raw>[0], token: string, activityId: string) {
  for (;;) {
    const answer = await raw(sandbox, 'GET', `/v3/activities/${activityId}`, { token });
    if (answer.data.state === 'completed') return answer;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function members(sandbox: { url: string }, listId: string): Promise<MembersAnswer> {
  const response = await fetch(`${sandbox.url}/__sandbox/lists/${listId}/members?limit=100000`);
  return (await response.json()) as MembersAnswer;
}

describe('sandbox activities', () => {
  it('imports a batch: the activity completes with CC counters and the members are on the list', async () => {
    const sandbox = await testSandbox();
    const { client } = sandboxClient(sandbox);
    const started = await client.importContacts({
      contacts: [
        { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' },
        { email: 'not-an-email' },
        { email: 'hana.rossi.28@example.net', first_name: 'Hana' }, // unsubscribed in the seed
        { email: 'Ada@Example.com', first_name: 'Ada M.' }, // the same person again: last entry wins
        { email: 'zoe@example.com', first_name: 'Zoë' },
      ],
      listIds: [vipListId],
    });
    expect(started).toMatchObject({ state: 'initialized', final: false, counters: { items_total_count: 5 } });
    const done = await client.waitForActivity(started.activityId);
    expect(done).toMatchObject({
      state: 'completed',
      percentDone: 100,
      needsResubmit: false,
      errors: ['Row 2: invalid email address'],
      counters: {
        items_total_count: 5,
        items_completed_count: 5,
        person_count: 3,
        error_count: 1,
        correctable_count: 1,
        cannot_add_to_list_count: 1,
      },
    });
    const list = await members(sandbox, vipListId);
    expect(list.members.map((member) => [member.email, member.first_name])).toEqual([
      ['ada@example.com', 'Ada M.'],
      ['zoe@example.com', 'Zoë'],
    ]);
    await expect(client.getList(vipListId)).resolves.toMatchObject({ membership_count: 2 });
  });

  it('maps emails to contact IDs by paging and by export alike, and removes memberships', async () => {
    const sandbox = await testSandbox();
    const { client, events } = sandboxClient(sandbox);
    const contacts = Array.from({ length: 1_200 }, (_, index) => ({
      email: `person.${index}@example.com`,
      first_name: index === 7 ? 'Smith, "Jr."' : `Person ${index}`,
    }));
    const activity = await client.importContacts({ contacts, listIds: [winBackListId] });
    await client.waitForActivity(activity.activityId);

    events.length = 0;
    const paged = await client.emailsToContactIds(winBackListId, 'paging');
    expect(events.filter((event) => event.pathTemplate === '/contacts')).toHaveLength(3);
    const exported = await client.emailsToContactIds(winBackListId, 'export');
    expect(paged.size).toBe(1_200);
    expect([...exported].sort()).toEqual([...paged].sort());

    const remove = [paged.get('person.0@example.com'), paged.get('person.7@example.com')] as string[];
    const removal = await client.removeListMemberships({ contactIds: remove, listIds: [winBackListId] });
    await expect(client.waitForActivity(removal.activityId)).resolves.toMatchObject({
      state: 'completed',
      counters: { items_total_count: 2, list_count: 1 },
    });
    const list = await members(sandbox, winBackListId);
    expect(list.count).toBe(1_198);
    expect(list.members.some((member) => remove.includes(member.contact_id))).toBe(false);
  });

  it('refuses more than 40,000 contacts in one import with a 400 array body', async () => {
    const sandbox = await testSandbox();
    const { access_token } = await sandboxAccessToken(sandbox);
    const body = JSON.stringify({
      import_data: Array.from({ length: 40_001 }, (_, index) => ({ email: `p${index}@example.com` })),
      list_ids: [vipListId],
    });
    const response = await raw(sandbox, 'POST', '/v3/activities/contacts_json_import', {
      token: access_token,
      body,
      contentType: 'application/json',
    });
    expect(response.status).toBe(400);
    expect(response.data).toEqual([
      {
        error_key: 'contacts.api.validation.error',
        error_message: 'import_data has 40001 contacts; one import takes at most 40000',
      },
    ]);
  });

  it('drops, silently, the contacts whose JSON ends past byte 4,000,000, like Constant Contact', async () => {
    const sandbox = await testSandbox();
    const { access_token } = await sandboxAccessToken(sandbox);
    const entries = Array.from({ length: 30_000 }, (_, index) =>
      JSON.stringify({
        email: `person.${String(index).padStart(6, '0')}@example.com`,
        first_name: 'F'.repeat(50),
        last_name: 'L'.repeat(50),
      }),
    );
    const prefix = '{"import_data":[';
    const body = `${prefix}${entries.join(',')}],"list_ids":["${vipListId}"]}`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(4_000_000);
    // The byte offset of each contact's closing brace in the body.
    let end = Buffer.byteLength(prefix) - 1;
    const ends = entries.map((entry, index) => {
      end += (index === 0 ? 0 : 1) + Buffer.byteLength(entry);
      return end;
    });
    const kept = ends.filter((offset) => offset < 4_000_000).length;
    expect(kept).toBeGreaterThan(20_000);
    expect(kept).toBeLessThan(30_000);
    const response = await raw(sandbox, 'POST', '/v3/activities/contacts_json_import', {
      token: access_token,
      body,
      contentType: 'application/json',
    });
    // Accepted as if nothing were wrong...
    expect(response.status).toBe(201);
    expect(response.data.status.items_total_count).toBe(kept);
    // (The bootstrap refresh token was spent above: poll with the raw access token.)
    for (let state = ''; state !== 'completed'; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = (
        await raw(sandbox, 'GET', `/v3/activities/${response.data.activity_id}`, { token: access_token })
      ).data.state;
    }
    // ...but only the contacts before the 4 MB mark arrive.
    const list = await members(sandbox, vipListId);
    expect(list.count).toBe(kept);
    expect(list.members.at(-1)?.email).toBe(`person.${String(kept - 1).padStart(6, '0')}@example.com`);
    const inspected = (await (await fetch(`${sandbox.url}/__sandbox/activities`)).json()) as {
      activities: Array<{ dropped: number }>;
    };
    expect(inspected.activities[0]?.dropped).toBe(30_000 - kept);
  });

  it('loses nothing when batches are cut by cutImportBatches (every body under 4,000,000 bytes)', async () => {
    const sandbox = await testSandbox();
    const { client } = sandboxClient(sandbox);
    const contacts = Array.from({ length: 60_000 }, (_, index) => ({
      email: `person.${index}@example.com`,
      first_name: 'Ä'.repeat(25),
      last_name: 'Ø'.repeat(25),
    }));
    const ids: string[] = [];
    for (const batch of cutImportBatches(contacts, [vipListId])) {
      ids.push((await client.importContacts({ contacts: batch.contacts, listIds: [vipListId] })).activityId);
    }
    expect(ids.length).toBeGreaterThan(2);
    const reports = await client.waitForActivities(ids);
    const total = [...reports.values()].reduce((sum, report) => sum + report.counters.items_total_count, 0);
    expect(total).toBe(60_000);
    expect((await members(sandbox, vipListId)).count).toBe(60_000);
  });

  it('validates bodies and queries against the swagger: 400 with CC array bodies, 415 without JSON', async () => {
    const sandbox = await testSandbox();
    const { access_token: token } = await sandboxAccessToken(sandbox);
    const post = (body: string, contentType = 'application/json') =>
      raw(sandbox, 'POST', '/v3/activities/contacts_json_import', { token, body, contentType });
    const tooLong = await post(
      JSON.stringify({
        import_data: [{ email: 'a@b.co', first_name: 'x'.repeat(51) }],
        list_ids: [vipListId],
      }),
    );
    expect(tooLong.status).toBe(400);
    expect(tooLong.data).toEqual([
      {
        error_key: 'contacts.api.validation.error',
        error_message: '/import_data/0/first_name must NOT have more than 50 characters',
      },
    ]);
    expect((await post('{"import_data": [')).status).toBe(400);
    expect((await post(JSON.stringify({ import_data: [] }))).data[0].error_message).toContain(
      "must have required property 'list_ids'",
    );
    const media = await post('email=a@b.co', 'text/plain');
    expect(media.status).toBe(415);
    expect(media.data[0].error_key).toBe('contacts.api.unsupported.media.type');
    const query = await raw(sandbox, 'GET', `/v3/contacts?lists=${vipListId}&limit=501`, { token });
    expect(query.status).toBe(400);
    expect(query.data).toEqual([
      { error_key: 'contacts.api.validation.error', error_message: 'limit must be <= 500' },
    ]);
    const unknown = await raw(sandbox, 'GET', '/v3/contact_lists/6b4f0a52-0000-4d8a-9f27-2e5b7c9d1a34', {
      token,
    });
    expect(unknown.status).toBe(404);
    expect(Array.isArray(unknown.data)).toBe(true);
  });

  it('answers every operation with a body that matches the swagger response schema', async () => {
    const sandbox = await testSandbox();
    const { access_token: token } = await sandboxAccessToken(sandbox);
    const check = (operation: SwaggerOperation, status: string, body: unknown) => {
      const responses = subset.operations[operation].responses as Record<string, { $ref?: string }>;
      const name = responses[status]?.$ref?.replace('#/definitions/', '') as SwaggerDefinitionName;
      expect(name, `${operation} ${status}`).toBeDefined();
      expect(validateSwaggerDefinition(name, body), `${operation} ${status}`).toEqual([]);
    };
    const json = 'application/json';
    const created = await raw(sandbox, 'POST', '/v3/contact_lists', {
      token,
      body: '{"name":"New list"}',
      contentType: json,
    });
    check('POST /contact_lists', '201', created.data);
    const imported = await raw(sandbox, 'POST', '/v3/activities/contacts_json_import', {
      token,
      body: JSON.stringify({
        import_data: [{ email: 'a@example.com', first_name: 'A' }],
        list_ids: [created.data.list_id],
      }),
      contentType: json,
    });
    check('POST /activities/contacts_json_import', '201', imported.data);
    check(
      'GET /activities/{activity_id}',
      '200',
      (await untilCompleted(sandbox, token, imported.data.activity_id)).data,
    );
    check('GET /activities', '200', (await raw(sandbox, 'GET', '/v3/activities?limit=5', { token })).data);
    check(
      'GET /contact_lists',
      '200',
      (await raw(sandbox, 'GET', '/v3/contact_lists?include_membership_count=all', { token })).data,
    );
    check(
      'GET /contact_lists/{list_id}',
      '200',
      (
        await raw(sandbox, 'GET', `/v3/contact_lists/${created.data.list_id}?include_membership_count=all`, {
          token,
        })
      ).data,
    );
    const contacts = await raw(
      sandbox,
      'GET',
      `/v3/contacts?lists=${created.data.list_id}&include=list_memberships`,
      { token },
    );
    check('GET /contacts', '200', contacts.data);
    expect(contacts.data.contacts[0].list_memberships).toEqual([created.data.list_id]);
    const removal = await raw(sandbox, 'POST', '/v3/activities/remove_list_memberships', {
      token,
      body: JSON.stringify({
        source: { contact_ids: [contacts.data.contacts[0].contact_id] },
        list_ids: [created.data.list_id],
      }),
      contentType: json,
    });
    check('POST /activities/remove_list_memberships', '201', removal.data);
    const exported = await raw(sandbox, 'POST', '/v3/activities/contact_exports', {
      token,
      body: JSON.stringify({ list_ids: [created.data.list_id] }),
      contentType: json,
    });
    check('POST /activities/contact_exports', '201', exported.data);
    const finished = await untilCompleted(sandbox, token, exported.data.activity_id);
    const file = await raw(sandbox, 'GET', finished.data._links.results.href, { token });
    check('GET /contact_exports/{file_export_id}', '200', file.data);
    expect(file.headers['content-type']).toMatch(/^text\/csv/);
  });
});
