import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DataMatching } from '../../../src/config';
import {
  checkFieldValue,
  contactFingerprint,
  mapContact,
  mappedContactFields,
  type ProfileValues,
  recordedCustomFieldTypes,
} from '../../../src/profiles';

const where = { file: '/data/profiles.csv', line: 7 };
const profile = (values: Partial<ProfileValues>): ProfileValues => ({
  key: 'C1',
  where,
  segments: ['VIP'],
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  ...values,
});

describe('checkFieldValue', () => {
  it.each([
    ['text', ' Acme  Ltd ', 50, 'Acme  Ltd', []],
    ['text', 'A\r\nB', 50, 'A B', ['control-characters']],
    ['text', 'x'.repeat(60), 50, 'x'.repeat(50), ['truncated']],
    ['text', '   ', 50, undefined, []],
    ['phone', ' +1 555-0100 ', 50, '+1 555-0100', []],
    ['phone', '5'.repeat(51), 50, undefined, ['too-long']],
    ['phone', 'n/a', 50, undefined, ['no-digit']],
    ['month', '3', undefined, 3, []],
    ['month', '03', undefined, 3, []],
    ['month', '12.0', undefined, 12, []],
    ['month', '13', undefined, undefined, ['not-a-month']],
    ['month', '0', undefined, undefined, ['not-a-month']],
    ['month', 'March', undefined, undefined, ['not-a-month']],
    ['day', '31', undefined, 31, []],
    ['day', '32', undefined, undefined, ['not-a-day']],
    ['date', '2006-11-15', undefined, '2006-11-15', []],
    ['date', '2006-1-5', undefined, '2006-01-05', []],
    ['date', '2006/11/15', undefined, '2006-11-15', []],
    ['date', '11/15/2006', undefined, '2006-11-15', []],
    ['date', '1-5-2006', undefined, '2006-01-05', []],
    ['date', '2006-11-15T23:30:00Z', undefined, '2006-11-15', []],
    ['date', '2006-11-15 08:00:00.123+02:00', undefined, '2006-11-15', []],
    ['date', '2006-02-30', undefined, undefined, ['not-a-date']],
    ['date', '15.11.2006', undefined, undefined, ['not-a-date']],
    ['date', '0099-01-01', undefined, undefined, ['not-a-date']],
  ] as const)('%s %j -> %j', (kind, raw, maxLength, value, notes) => {
    expect(checkFieldValue(raw, kind, maxLength)).toEqual({ value, notes });
  });

  it('sends nothing for an absent value, without a note', () => {
    for (const kind of ['text', 'phone', 'month', 'day', 'date'] as const)
      expect(checkFieldValue(undefined, kind, 50)).toEqual({ value: undefined, notes: [] });
  });
});

describe('mappedContactFields', () => {
  it('lists standard fields in catalogue order, then custom ones by name, dates per the account', () => {
    const matching: DataMatching = {
      email: 'Email',
      companyName: 'Company',
      jobTitle: 'Title',
      homeCity: 'City',
      customFields: { Tier: 'tier', Since: 'member_since' },
    };
    expect(
      mappedContactFields(matching, recordedCustomFieldTypes({ customFieldTypes: { Since: 'date' } })).map(
        (field) => [field.name, field.column, field.kind, field.maxLength],
      ),
    ).toEqual([
      ['job_title', 'Title', 'text', 50],
      ['company_name', 'Company', 'text', 50],
      ['home_city', 'City', 'text', 50],
      ['cf:Since', 'member_since', 'date', undefined],
      ['cf:Tier', 'tier', 'text', 255],
    ]);
  });
});

describe('mapContact with other fields', () => {
  const matching: DataMatching = {
    email: 'Email',
    companyName: 'Company',
    birthdayMonth: 'BMonth',
    birthdayDay: 'BDay',
    anniversary: 'Since',
    mobilePhone: 'Mobile',
    customFields: { Tier: 'tier' },
  };
  const fields = mappedContactFields(matching);
  const map = (values: (string | undefined)[]) =>
    mapContact(profile({ fieldValues: values }), matching, fields);

  it('sends each field checked, in mapping order; absent ones as undefined', () => {
    const { contact, issues } = map(['Acme', '11', '24', '2006-11-15T00:00:00Z', undefined, 'gold']);
    expect(contact?.fields).toEqual([
      ['company_name', 'Acme'],
      ['birthday_month', 11],
      ['birthday_day', 24],
      ['anniversary', '2006-11-15'],
      ['mobile_phone', undefined],
      ['cf:Tier', 'gold'],
    ]);
    expect(issues).toEqual([]);
  });

  it('leaves out a bad value with a warning naming the field, and exports the contact', () => {
    const { contact, issues } = map(['Acme', '11', '24', 'soon', '555-0100', 'gold']);
    expect(contact?.fields?.find(([name]) => name === 'anniversary')).toEqual(['anniversary', undefined]);
    expect(contact?.email).toBe('ada@example.com');
    expect(issues).toMatchObject([
      { severity: 'warning', code: 'field-invalid', field: 'Since', value: 'soon', key: 'C1' },
    ]);
    expect(issues[0]?.message).toContain('anniversary (Since)');
  });

  it('truncates a long text with a warning, as names are', () => {
    const { contact, issues } = map([
      'A'.repeat(70),
      undefined,
      undefined,
      undefined,
      undefined,
      'x'.repeat(300),
    ]);
    expect(contact?.fields?.[0]).toEqual(['company_name', 'A'.repeat(50)]);
    expect(contact?.fields?.[5]).toEqual(['cf:Tier', 'x'.repeat(255)]);
    expect(issues.map((issue) => [issue.code, issue.field])).toEqual([
      ['field-truncated', 'Company'],
      ['field-truncated', 'tier'],
    ]);
  });

  it('sends a birthday whole or not at all', () => {
    const { contact, issues } = map([undefined, '13', '24', undefined, undefined, undefined]);
    expect(contact?.fields?.slice(1, 3)).toEqual([
      ['birthday_month', undefined],
      ['birthday_day', undefined],
    ]);
    expect(issues.map((issue) => [issue.code, issue.field])).toEqual([
      ['field-invalid', 'BMonth'],
      ['field-invalid', 'BDay'],
    ]);
  });

  it('has no fields at all when only email and names are mapped (the fingerprint stays v1)', () => {
    const { contact } = mapContact(profile({}), { email: 'Email', firstName: 'First', lastName: 'Last' });
    expect(contact?.fields).toBeUndefined();
    expect(contactFingerprint(contact as NonNullable<typeof contact>)).toBe(
      '4d64279928b44a000be9823d14f51d1c',
    );
  });
});

describe('contactFingerprint over mapped fields (property)', () => {
  const matching: DataMatching = {
    email: 'Email',
    firstName: 'First',
    companyName: 'Company',
    jobTitle: 'Title',
    birthdayMonth: 'BMonth',
    birthdayDay: 'BDay',
    anniversary: 'Since',
    workPhone: 'Phone',
    city: 'City',
    customFields: { Tier: 'tier' },
  };
  const fields = mappedContactFields(matching);
  const cell = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('', ' ', '3', '12', '31', '40', '2020-01-31', '1/2/2020', 'x'.repeat(60), '555 0100'),
    fc.string({ maxLength: 8 }),
  );
  const row = fc.record({
    first: cell,
    values: fc.tuple(...fields.map(() => cell)),
  });
  const fingerprintOf = (input: { first: string | undefined; values: readonly (string | undefined)[] }) => {
    const { contact } = mapContact(
      profile({ firstName: input.first, fieldValues: input.values }),
      matching,
      fields,
    );
    return { fingerprint: contactFingerprint(contact as NonNullable<typeof contact>), contact };
  };

  it('changes exactly when a value sent changes', () => {
    fc.assert(
      fc.property(row, row, (a, b) => {
        const left = fingerprintOf(a);
        const right = fingerprintOf(b);
        const sentLeft = JSON.stringify([left.contact?.firstName, left.contact?.fields]);
        const sentRight = JSON.stringify([right.contact?.firstName, right.contact?.fields]);
        expect(left.fingerprint === right.fingerprint).toBe(sentLeft === sentRight);
      }),
      { numRuns: 2_000 },
    );
  });

  it('changes when one mapped value changes (company), and not when a spelling of the same date does', () => {
    const values = ['Acme', 'CTO', '1', '2', '2020-01-31', '555 0100', 'Paris', 'gold'];
    const base = fingerprintOf({ first: 'Ada', values }).fingerprint;
    const company = fingerprintOf({ first: 'Ada', values: ['Acme Ltd', ...values.slice(1)] }).fingerprint;
    const respelled = values.map((value) => (value === '2020-01-31' ? '01/31/2020' : value));
    expect(company).not.toBe(base);
    expect(fingerprintOf({ first: 'Ada', values: respelled }).fingerprint).toBe(base);
  });

  it('changes for every contact when a field is newly mapped, even one without a value', () => {
    const before = mapContact(profile({}), { email: 'Email', firstName: 'First', lastName: 'Last' }).contact;
    const withCompany: DataMatching = {
      email: 'Email',
      firstName: 'First',
      lastName: 'Last',
      companyName: 'Co',
    };
    const after = mapContact(
      profile({ fieldValues: [undefined] }),
      withCompany,
      mappedContactFields(withCompany),
    ).contact;
    expect(contactFingerprint(after as NonNullable<typeof after>)).not.toBe(
      contactFingerprint(before as NonNullable<typeof before>),
    );
  });
});
