import { describe, expect, it } from 'vitest';
import type { DataMatching } from '../../../src/config';
import { importEntryJson } from '../../../src/constant-contact';
import { type ExportContact, mapContact, type ProfileValues } from '../../../src/profiles';

/** The import entry the engine sends for `contact` (`ImportStaging`). */
const sentEntry = (contact: ExportContact | undefined) =>
  importEntryJson({
    email: contact?.email ?? '',
    first_name: contact?.firstName,
    last_name: contact?.lastName,
    fields: contact?.fields,
  });

const where = { file: '/data/profiles.csv', line: 7 };
const all: DataMatching = { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' };
const profile = (values: Partial<ProfileValues>): ProfileValues => ({
  key: 'C1',
  where,
  segments: ['VIP'],
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  ...values,
});

describe('mapContact', () => {
  it('maps every mapped field, normalised, and keeps key, segments and location', () => {
    expect(mapContact(profile({ email: ' Ada@Example.com ', firstName: ' Ada ' }), all)).toEqual({
      contact: {
        key: 'C1',
        email: 'Ada@Example.com',
        emailKey: 'ada@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        segments: ['VIP'],
        where,
      },
      issues: [],
    });
  });

  it('leaves out names that are not mapped, whatever the source holds', () => {
    const { contact } = mapContact(profile({}), { email: 'EmailAddress', firstName: 'FirstName' });
    expect(contact?.lastName).toBeUndefined();
    expect(contact).toHaveProperty('firstName', 'Ada');
    expect(JSON.parse(sentEntry(contact))).not.toHaveProperty('last_name');
  });

  it('leaves out empty names instead of sending empty strings', () => {
    const { contact } = mapContact(profile({ firstName: '  ', lastName: undefined }), all);
    expect(contact?.firstName).toBeUndefined();
    expect(contact?.lastName).toBeUndefined();
    expect(JSON.parse(sentEntry(contact))).toEqual({ email: contact?.email });
  });

  it.each([
    ['missing-email', undefined, undefined],
    ['missing-email', '   ', undefined],
    ['invalid-email', ' not-an-email ', 'not-an-email'],
    ['email-too-long', `${'a'.repeat(40)}@example.com`, `${'a'.repeat(40)}@example.com`],
  ])('an email that cannot be sent → no contact, one %s error', (code, email, value) => {
    const result = mapContact(profile({ email }), all);
    expect(result.contact).toBeUndefined();
    expect(result.issues).toEqual([
      {
        severity: 'error',
        code,
        message: expect.stringContaining('profiles.csv:7: C1'),
        where,
        key: 'C1',
        field: 'EmailAddress',
        ...(value === undefined ? {} : { value }),
      },
    ]);
  });

  it('truncates an over-long name and warns, naming the field; the contact is still exported', () => {
    const long = 'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstanze-Rosalind';
    const { contact, issues } = mapContact(profile({ firstName: long }), all);
    expect(contact?.firstName).toBe(long.slice(0, 50));
    expect(issues).toMatchObject([
      { severity: 'warning', code: 'name-truncated', key: 'C1', field: 'FirstName', where },
    ]);
  });

  it('replaces a line break in a name and warns', () => {
    const { contact, issues } = mapContact(profile({ lastName: 'Brown\nsecond line' }), all);
    expect(contact?.lastName).toBe('Brown second line');
    expect(issues).toMatchObject([
      { severity: 'warning', code: 'name-control-characters', field: 'LastName' },
    ]);
  });
});
