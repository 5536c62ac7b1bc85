import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineFixture, exportWorld, type WorldDestination } from '../../support/export-world';

/** Every kind of field: text, birthday (month and day), date, phone, address, custom (string, date). */
const allFields = [
  'companyName: Company',
  'jobTitle: Title',
  'birthdayMonth: BirthMonth',
  'birthdayDay: BirthDay',
  'anniversary: Since',
  'mobilePhone: Mobile',
  'homeStreet: HomeStreet',
  'homeCity: HomeCity',
  'customFields: { Tier: Tier, Joined: JoinedAt }',
];
const vip = (fields: readonly string[]): WorldDestination[] => [{ name: 'vip', fields }];

async function wideWorld() {
  const w = await exportWorld(engineFixture('wide-contacts'));
  w.sandbox.account.defineCustomField({ name: 'Tier' });
  w.sandbox.account.defineCustomField({ name: 'Joined', type: 'date' });
  const fieldsOf = (email: string) => {
    const contacts = w.sandbox.account.contacts;
    return contacts.fields(contacts.find(email));
  };
  const profiles = join(w.dataFolder, 'profiles.csv');
  const edit = (from: string, to: string) => {
    const text = readFileSync(profiles, 'utf8');
    expect(text).toContain(from);
    writeFileSync(profiles, text.replace(from, to));
  };
  return { w, fieldsOf, edit };
}

describe('mapped contact fields, end to end through the sandbox', () => {
  it('sends every kind of field checked; a bad value is a warning and left out, never the contact', async () => {
    const { w, fieldsOf } = await wideWorld();
    await w.apply(vip(allFields));
    const result = await w.run('vip');
    expect(result.run.status).toBe('succeeded');
    expect(result.record.counts).toMatchObject({ contacts: 4, added: 4, imported: 4 });
    expect(w.members()).toEqual([
      'ada@example.com',
      'alan@example.com',
      'grace@example.com',
      'katherine@example.com',
    ]);
    expect(fieldsOf('ada@example.com')).toEqual({
      company_name: 'Analytical Engines',
      job_title: 'Programmer',
      birthday_month: 12,
      birthday_day: 10,
      anniversary: '1843-09-01',
      mobile_phone: '+44 20 7946 0000',
      home_street: '12 St James Sq',
      home_city: 'London',
      'cf:Tier': 'gold',
      // A date custom field (its type recorded by apply): the ISO date-time became a date.
      'cf:Joined': '2020-05-01',
    });
    // Dates in Constant Contact's M/D/YYYY are sent as YYYY-MM-DD; empty cells are not sent.
    expect(fieldsOf('grace@example.com')).toMatchObject({
      anniversary: '1906-12-09',
      'cf:Joined': '2021-01-15',
    });
    expect(fieldsOf('grace@example.com')).not.toHaveProperty('home_street');
    // Alan: the company cut to 50, the bad month (and so the whole birthday), date and phone left out.
    expect(fieldsOf('alan@example.com')).toEqual({
      company_name: 'Government Code and Cypher School at Bletchley Par',
      'cf:Tier': 'bronze',
    });
    expect(fieldsOf('katherine@example.com')).toEqual({});
    const csv = (await w.rowIssueCsv(result.run.id)).trim().split('\n').slice(1);
    expect(csv.map((line) => line.split(',').slice(0, 2).concat(line.split(',').slice(-1)))).toEqual([
      ['W03', 'Company', 'field-truncated'],
      ['W03', 'BirthMonth', 'field-invalid'],
      ['W03', 'Since', 'field-invalid'],
      ['W03', 'Mobile', 'field-invalid'],
      ['W03', 'BirthDay', 'field-invalid'],
    ]);
    expect(result.record.rowIssues.byCode).toEqual({ 'field-truncated': 1, 'field-invalid': 4 });
  });

  it('re-sends a contact when a mapped value changes, nothing for an unmapped one, everyone once for a new field', async () => {
    const { w, fieldsOf, edit } = await wideWorld();
    await w.apply(vip(allFields));
    await w.run('vip');

    // An unmapped column changed: the run reads (the file changed) and sends nothing.
    edit(',second', ',second edition');
    const unmapped = await w.run('vip');
    expect(unmapped.record.skipped).toBeNull();
    expect(unmapped.record.counts).toMatchObject({ updated: 0, unchanged: 4, imported: 0 });

    // One profile's company changed: that contact alone is sent again.
    edit('US Navy', 'Harvard Computation Lab');
    const company = await w.run('vip');
    expect(company.record.counts).toMatchObject({ updated: 1, unchanged: 3, imported: 1 });
    expect(fieldsOf('grace@example.com')).toMatchObject({ company_name: 'Harvard Computation Lab' });
    expect((await w.run('vip')).record.skipped).toBe('unchanged');

    // A new mapped field: every contact is sent once, and the plan says why.
    await w.apply(vip([...allFields, 'workCity: HomeCity']));
    const preview = await w.run('vip', { dryRun: true });
    expect(preview.record.plan).toMatchObject({ updates: 4, toImport: 4 });
    const added = await w.run('vip');
    expect(added.record.counts).toMatchObject({ updated: 4, imported: 4 });
    expect(added.record.plan?.fieldChanges).toEqual({ added: ['work_city'], removed: [] });
    expect(fieldsOf('ada@example.com')).toMatchObject({ work_city: 'London', home_city: 'London' });
    const again = await w.run('vip');
    expect(again.record.skipped).toBe('unchanged');

    // Unmapped again: it stops being sent, and its values stay in Constant Contact.
    await w.apply(vip(allFields.filter((line) => !line.startsWith('companyName'))));
    const removed = await w.run('vip');
    expect(removed.record.counts).toMatchObject({ updated: 4, imported: 4 });
    expect(removed.record.plan?.fieldChanges).toEqual({ added: [], removed: ['company_name', 'work_city'] });
    edit('Harvard Computation Lab', 'Nobody Reads This');
    const ignored = await w.run('vip');
    expect(ignored.record.counts).toMatchObject({ updated: 0, imported: 0 });
    expect(fieldsOf('grace@example.com')).toMatchObject({ company_name: 'Harvard Computation Lab' });
  });

  it('apply refuses a custom field the account does not define, naming the nearest, and stores nothing', async () => {
    const { w } = await wideWorld();
    const failed = await w.tryApply(vip(['customFields: { Teir: Tier }']));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ id: 'ExportDestination/vip', code: 'custom-field-not-found' });
    expect(failed[0]?.message).toContain('Teir (nearest: Tier)');
    expect(failed[0]?.message).toMatch(/created? in Constant Contact first|create the custom field/);
    expect(await w.store.resources.get('ExportDestination', 'vip')).toBeUndefined();
  });

  it('lists the custom fields once per connection, however many destinations map them', async () => {
    const { w } = await wideWorld();
    await w.apply([
      { name: 'vip', fields: ['customFields: { Tier: Tier }'] },
      { name: 'vip-b', fields: ['customFields: { Joined: JoinedAt }'] },
      { name: 'vip-c', fields: ['customFields: { Tier: Tier, Joined: JoinedAt }'] },
    ]);
    const listings = w.sandbox
      .requests(1000)
      .filter((request) => request.route === 'GET /v3/contact_custom_fields');
    expect(listings).toHaveLength(1);
    const applied = await w.store.resources.get('ExportDestination', 'vip-c');
    expect(applied?.remoteFacts?.facts).toMatchObject({
      customFieldTypes: { Tier: 'string', Joined: 'date' },
    });
  });

  it('the refresh keeps the recorded types, and reports a mapped custom field deleted in Constant Contact', async () => {
    const { w } = await wideWorld();
    await w.apply(vip(['customFields: { Tier: Tier, Joined: JoinedAt }']));
    const facts = async () => (await w.store.resources.get('ExportDestination', 'vip'))?.remoteFacts?.facts;
    const observed = (await w.refresh()).find((item) => item.name === 'vip');
    expect(observed?.status).toMatchObject({ ready: true });
    expect(await facts()).toMatchObject({ customFieldTypes: { Tier: 'string', Joined: 'date' } });

    expect(w.sandbox.account.deleteCustomField('Joined')).toBe(true);
    const stalled = (await w.refresh()).find((item) => item.name === 'vip');
    expect(stalled?.status).toMatchObject({
      ready: false,
      reason: 'CustomFieldNotFound',
      code: 'custom-field-not-found',
    });
    expect(stalled?.status.message).toContain('Joined (nearest: Tier)');
  });
});
