import { describe, expect, it } from 'vitest';
import { contactFingerprint, contactFingerprintHalves } from '../../../src/profiles';

const base = { emailKey: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' };
/** `base` with what is not sent: its key, segments, location, and the email in another case. */
const withUnsent = {
  ...base,
  key: 'C1',
  email: 'ADA@example.com',
  segments: ['VIP'],
  where: { file: 'x', line: 1 },
};

describe('contactFingerprint', () => {
  it('is stable across releases (stored fingerprints must keep matching)', () => {
    // Pinned on purpose: changing the encoding makes every stored snapshot look changed. The value
    // is `printf '%s' '["v1","ada@example.com","Ada","Lovelace"]' | sha256sum | cut -c1-32`.
    expect(contactFingerprint(base)).toBe('4d64279928b44a000be9823d14f51d1c');
  });

  it('is 128 bits as hex', () => {
    expect(contactFingerprint(base)).toMatch(/^[0-9a-f]{32}$/);
  });

  it.each([
    ['email key', { ...base, emailKey: 'ada2@example.com' }],
    ['first name', { ...base, firstName: 'Adah' }],
    ['last name', { ...base, lastName: 'Byron' }],
    ['first name absent', { emailKey: base.emailKey, lastName: base.lastName }],
    ['a name moved to the other field', { emailKey: base.emailKey, firstName: 'Lovelace', lastName: 'Ada' }],
    ['a boundary moved between fields', { ...base, firstName: 'AdaL', lastName: 'ovelace' }],
  ])('changes with the %s', (_, changed) => {
    expect(contactFingerprint(changed)).not.toBe(contactFingerprint(base));
  });

  it('ignores what is not sent: key, segments, location, email case', () => {
    expect(contactFingerprint(withUnsent)).toBe(contactFingerprint(base));
  });
});

describe('contactFingerprintHalves', () => {
  const withFields = {
    ...base,
    fields: [
      ['job_title', 'Countess'],
      ['custom:score', 12],
    ] as const,
  };

  it('is stable across releases (stored fingerprints must keep matching)', () => {
    // Pinned on purpose: changing the encoding makes every stored snapshot look changed.
    expect(contactFingerprintHalves(base)).toEqual([804577582, 2256535699]);
    expect(contactFingerprintHalves(withFields)).toEqual([3269613938, 2315982012]);
  });

  it.each([
    ['email key', { ...base, emailKey: 'ada2@example.com' }],
    ['first name', { ...base, firstName: 'Adah' }],
    ['last name', { ...base, lastName: 'Byron' }],
    ['first name absent', { emailKey: base.emailKey, lastName: base.lastName }],
    ['first name empty', { ...base, firstName: '' }],
    ['a name moved to the other field', { emailKey: base.emailKey, firstName: 'Lovelace', lastName: 'Ada' }],
    ['a boundary moved between fields', { ...base, firstName: 'AdaL', lastName: 'ovelace' }],
    ['a boundary moved by one character', { ...base, firstName: 'Ad', lastName: 'aLovelace' }],
    ['an empty list of other fields', { ...base, fields: [] }],
  ])('changes with the %s', (_, changed) => {
    expect(contactFingerprintHalves(changed)).not.toEqual(contactFingerprintHalves(base));
  });

  it.each([
    ['a value', [['job_title', 'Count'], withFields.fields[1]]],
    ['a value gone', [['job_title', undefined], withFields.fields[1]]],
    ['a number as text', [withFields.fields[0], ['custom:score', '12']]],
    ['a field’s name', [['job', 'Countess'], withFields.fields[1]]],
    ['a field more', [...withFields.fields, ['company_name', undefined]]],
    ['the fields’ order', [withFields.fields[1], withFields.fields[0]]],
  ] as const)('changes with %s among the other fields', (_, fields) => {
    expect(contactFingerprintHalves({ ...base, fields })).not.toEqual(contactFingerprintHalves(withFields));
  });

  it('ignores what is not sent: key, segments, location, email case', () => {
    expect(contactFingerprintHalves(withUnsent)).toEqual(contactFingerprintHalves(base));
  });

  it('spreads 200,000 near-identical contacts over 64 bits without a collision', () => {
    const seen = new Set<string>();
    let notUnsigned = 0;
    for (let n = 0; n < 200_000; n++) {
      const [high, low] = contactFingerprintHalves({ emailKey: `user${n}@example.com`, firstName: 'Ada' });
      if (high >>> 0 !== high || low >>> 0 !== low) notUnsigned += 1;
      seen.add(`${high}:${low}`);
    }
    expect(notUnsigned).toBe(0);
    expect(seen.size).toBe(200_000);
  });
});
