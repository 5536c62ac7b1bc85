import { describe, expect, it } from 'vitest';
import { contactFingerprint } from '../../../src/profiles';

const base = { emailKey: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' };

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
    const contact = {
      ...base,
      key: 'C1',
      email: 'ADA@example.com',
      segments: ['VIP'],
      where: { file: 'x', line: 1 },
    };
    expect(contactFingerprint(contact)).toBe(contactFingerprint(base));
  });
});
