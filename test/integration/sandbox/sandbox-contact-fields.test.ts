import { describe, expect, it } from 'vitest';
import {
  raw,
  sandboxAccessToken,
  sandboxClient,
  sandboxCredentials,
  testSandbox,
  vipListId,
} from '../../support/sandbox-client';

describe('sandbox: contact fields and custom fields', () => {
  it('lists the custom fields, paged as Constant Contact pages them', async () => {
    const sandbox = await testSandbox();
    for (let index = 0; index < 7; index++) sandbox.account.defineCustomField({ name: `Field_${index}` });
    sandbox.account.defineCustomField({ name: 'Member_since', type: 'date' });
    const { access_token: token, refresh_token: rotated } = await sandboxAccessToken(sandbox);
    const { client, events } = sandboxClient(sandbox, {
      credentials: { ...sandboxCredentials, bootstrapRefreshToken: rotated },
    });
    const fields = await client.listCustomFields();
    expect(fields.map((field) => [field.name, field.type])).toEqual([
      ...Array.from({ length: 7 }, (_, index) => [`Field_${index}`, 'string']),
      ['Member_since', 'date'],
    ]);
    expect(fields[7]).toMatchObject({ label: 'Member since', custom_field_id: expect.any(String) });
    // Pages of 3 with a raw token.
    const first = await raw(sandbox, 'GET', '/v3/contact_custom_fields?limit=3', { token });
    expect(first.data.custom_fields).toHaveLength(3);
    expect(first.data._links.next.href).toMatch(/^\/v3\/contact_custom_fields\?cursor=/);
    expect((await raw(sandbox, 'GET', '/v3/contact_custom_fields?limit=101', { token })).status).toBe(400);
    expect(events.filter((event) => event.pathTemplate === '/contact_custom_fields')).toHaveLength(1);
  });

  it('stores every imported field, leaves fields not sent alone, and shows them as GET /contacts does', async () => {
    const sandbox = await testSandbox();
    sandbox.account.defineCustomField({ name: 'Tier' });
    const { access_token: token, refresh_token: rotated } = await sandboxAccessToken(sandbox);
    const { client } = sandboxClient(sandbox, {
      credentials: { ...sandboxCredentials, bootstrapRefreshToken: rotated },
    });
    const first = await client.importContacts({
      contacts: [
        {
          email: 'ada@example.com',
          first_name: 'Ada',
          fields: [
            ['company_name', 'Analytical Engines'],
            ['job_title', 'Programmer'],
            ['birthday_month', 12],
            ['birthday_day', 10],
            ['anniversary', '1843-09-01'],
            ['mobile_phone', '+44 20 7946 0000'],
            ['home_street', '12 St James Sq'],
            ['home_street2', 'Flat 1'],
            ['home_city', 'London'],
            ['cf:Tier', 'gold'],
          ],
        },
      ],
      listIds: [vipListId],
    });
    await client.waitForActivity(first.activityId);
    // A second import without company: the company stays (an import changes only what it sends).
    const second = await client.importContacts({
      contacts: [{ email: 'ada@example.com', fields: [['job_title', 'Analyst']] }],
      listIds: [vipListId],
    });
    await client.waitForActivity(second.activityId);
    const row = sandbox.account.contacts.find('ada@example.com');
    expect(sandbox.account.contacts.fields(row)).toEqual({
      company_name: 'Analytical Engines',
      job_title: 'Analyst',
      birthday_month: 12,
      birthday_day: 10,
      anniversary: '1843-09-01',
      mobile_phone: '+44 20 7946 0000',
      home_street: '12 St James Sq',
      home_street2: 'Flat 1',
      home_city: 'London',
      'cf:Tier': 'gold',
    });
    const answer = await raw(
      sandbox,
      'GET',
      '/v3/contacts?email=ada@example.com&include=custom_fields,phone_numbers,street_addresses',
      { token },
    );
    expect(answer.data.contacts[0]).toMatchObject({
      first_name: 'Ada',
      company_name: 'Analytical Engines',
      job_title: 'Analyst',
      birthday_month: 12,
      birthday_day: 10,
      anniversary: '1843-09-01',
      phone_numbers: [{ phone_number: '+44 20 7946 0000', kind: 'mobile' }],
      street_addresses: [{ kind: 'home', street: '12 St James Sq Flat 1', city: 'London' }],
      custom_fields: [{ custom_field_id: sandbox.account.customField('Tier')?.customFieldId, value: 'gold' }],
    });
    const plain = await raw(sandbox, 'GET', '/v3/contacts?email=ada@example.com', { token });
    expect(plain.data.contacts[0]).not.toHaveProperty('custom_fields');
    const inspected = await fetch(`${sandbox.url}/__sandbox/lists/${vipListId}/members`);
    const members = (await inspected.json()) as { members: { email: string; fields: object }[] };
    expect(members.members.find((member) => member.email === 'ada@example.com')?.fields).toMatchObject({
      'cf:Tier': 'gold',
    });
  });

  it('refuses an import that fills a custom field the account does not define, naming it', async () => {
    const sandbox = await testSandbox();
    sandbox.account.defineCustomField({ name: 'Tier' });
    const token = (await sandboxAccessToken(sandbox)).access_token;
    const answer = await raw(sandbox, 'POST', '/v3/activities/contacts_json_import', {
      token,
      contentType: 'application/json',
      body: JSON.stringify({
        import_data: [{ email: 'ada@example.com', 'cf:Tier': 'gold', 'cf:Teir': 'x' }],
        list_ids: [vipListId],
      }),
    });
    expect(answer.status).toBe(400);
    expect(answer.data).toEqual([
      {
        error_key: 'contacts.api.validation.error',
        error_message:
          'Custom field cf:Teir does not exist in the account: create it in Constant Contact first',
      },
    ]);
    expect(sandbox.account.contacts.find('ada@example.com')).toBe(-1);
  });
});
