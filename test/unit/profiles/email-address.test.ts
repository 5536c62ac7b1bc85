import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contactFieldLimits, isPracticalEmailAddress, normaliseEmail } from '../../../src/profiles';

describe('normaliseEmail', () => {
  it.each([
    ['plain', 'ada@example.com', 'ada@example.com', 'ada@example.com'],
    ['surrounding white space trimmed', '  Ada@Example.com \t', 'Ada@Example.com', 'ada@example.com'],
    [
      'upper case kept when sent, lowered in the key',
      'ADA.LOVELACE@EXAMPLE.ORG',
      'ADA.LOVELACE@EXAMPLE.ORG',
      'ada.lovelace@example.org',
    ],
    [
      'no-break space and BOM trimmed',
      '\u00a0\ufeffada@example.com\u00a0',
      'ada@example.com',
      'ada@example.com',
    ],
    [
      'plus tags and RFC 5322 atext',
      "o'brien+news_1#x@mail.example.co.uk",
      "o'brien+news_1#x@mail.example.co.uk",
      "o'brien+news_1#x@mail.example.co.uk",
    ],
    [
      'decomposed accents composed (NFC)',
      'jose\u0301@example.com',
      'jos\u00e9@example.com',
      'jos\u00e9@example.com',
    ],
    [
      'non-ASCII upper case lowered',
      '\u00c9LODIE@EXAMPLE.FR',
      '\u00c9LODIE@EXAMPLE.FR',
      '\u00e9lodie@example.fr',
    ],
    [
      'internationalised domain',
      'user@b\u00fccher.example',
      'user@b\u00fccher.example',
      'user@b\u00fccher.example',
    ],
    [
      'hyphens inside labels',
      'a@my-mail.example-host.com',
      'a@my-mail.example-host.com',
      'a@my-mail.example-host.com',
    ],
    [
      'exactly 50 characters',
      `${'a'.repeat(38)}@example.com`,
      `${'a'.repeat(38)}@example.com`,
      `${'a'.repeat(38)}@example.com`,
    ],
  ])('accepts %s', (_, raw, email, emailKey) => {
    expect(normaliseEmail(raw)).toEqual({ email, emailKey });
  });

  it('gives case and whitespace variants of one address the same key', () => {
    const keys = ['Ada@Example.com', ' ada@example.COM', 'ADA@EXAMPLE.COM  '].map((raw) => {
      const result = normaliseEmail(raw);
      return 'emailKey' in result ? result.emailKey : result.problem;
    });
    expect(new Set(keys)).toEqual(new Set(['ada@example.com']));
  });

  it.each([
    ['absent', undefined, 'missing-email'],
    ['empty', '', 'missing-email'],
    ['white space only', ' \t ', 'missing-email'],
    ['no @', 'not-an-email', 'invalid-email'],
    ['two @', 'a@b@example.com', 'invalid-email'],
    ['empty local part', '@example.com', 'invalid-email'],
    ['empty domain', 'ada@', 'invalid-email'],
    ['domain without a dot', 'ada@localhost', 'invalid-email'],
    ['space inside', 'ada lovelace@example.com', 'invalid-email'],
    ['tab inside', 'ada\t@example.com', 'invalid-email'],
    ['control character', 'ada\u0007@example.com', 'invalid-email'],
    ['line break inside', 'ada@exam\nple.com', 'invalid-email'],
    ['leading dot in local part', '.ada@example.com', 'invalid-email'],
    ['trailing dot in local part', 'ada.@example.com', 'invalid-email'],
    ['consecutive dots in local part', 'ada..lovelace@example.com', 'invalid-email'],
    ['consecutive dots in domain', 'ada@example..com', 'invalid-email'],
    ['domain label starting with a hyphen', 'ada@-example.com', 'invalid-email'],
    ['domain label ending with a hyphen', 'ada@example-.com', 'invalid-email'],
    ['trailing dot in domain', 'ada@example.com.', 'invalid-email'],
    ['IP address', 'ada@192.168.0.1', 'invalid-email'],
    ['address literal', 'ada@[192.168.0.1]', 'invalid-email'],
    ['quoted local part', '"ada lovelace"@example.com', 'invalid-email'],
    ['display name form', 'Ada <ada@example.com>', 'invalid-email'],
    ['local part over 64', `${'a'.repeat(65)}@example.com`, 'invalid-email'],
    ['domain label over 63', `a@${'b'.repeat(64)}.com`, 'invalid-email'],
    ['51 characters (Constant Contact takes 50)', `${'a'.repeat(39)}@example.com`, 'email-too-long'],
    [
      'over-long after NFC? no: NFC shortens, so 50 after composing is fine',
      `${'e\u0301'.repeat(38)}@example.com`,
      undefined,
    ],
  ])('%s → %s', (_, raw, problem) => {
    const result = normaliseEmail(raw);
    if (problem === undefined) expect(result).not.toHaveProperty('problem');
    else expect(result).toEqual({ problem });
  });

  it('checks printable ASCII addresses exactly as the general syntax check does (property)', () => {
    // normaliseEmail takes a faster path for printable ASCII; it must agree with the general one.
    // Addresses are built from pieces near every rule's edge: dots, hyphens, digits-only labels,
    // a second @, atext punctuation, characters outside atext, lengths around 63 and 64.
    const piece = fc.oneof(
      fc.constantFrom(
        'a',
        'Z',
        '0',
        '9',
        '.',
        '..',
        '-',
        '@',
        '_',
        '+',
        "'",
        '`',
        '~',
        '|',
        '{',
        '"',
        '(',
        ']',
        ',',
        ':',
        ';',
        '\\',
        '%',
      ),
      fc.stringMatching(/^[a-z0-9]{1,8}$/),
      fc.stringMatching(/^[0-9]{1,3}$/),
      fc.integer({ min: 60, max: 66 }).map((n) => 'x'.repeat(n)),
    );
    const word = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
    const address = fc
      .tuple(word, fc.constantFrom('@', '@@', ''), word, fc.constantFrom('', '.', '.com', '.123', '-.org'))
      .map(([local, at, domain, tail]) => `${local}${at}${domain}${tail}`);
    fc.assert(
      fc.property(address, (raw) => {
        const result = normaliseEmail(raw);
        const expected =
          raw === ''
            ? { problem: 'missing-email' }
            : !isPracticalEmailAddress(raw)
              ? { problem: 'invalid-email' }
              : raw.length > contactFieldLimits.email
                ? { problem: 'email-too-long' }
                : { email: raw, emailKey: raw.toLowerCase() };
        expect(result).toEqual(expected);
      }),
      { numRuns: 20_000 },
    );
  });
});
