import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseAnyName, normaliseName } from '../../../src/profiles';

const limit = 50;

describe('normaliseName', () => {
  it.each([
    ['absent stays absent', undefined, undefined],
    ['empty becomes absent', '', undefined],
    ['white space only becomes absent', '  \t ', undefined],
    ['control characters only become absent', '\n\r\t', undefined],
    ['a bell alone becomes absent', '\u0007', undefined],
    ['line breaks at the ends are trimmed, not replaced', '\r\nAda\n', 'Ada'],
    ['trimmed', '  Ada  ', 'Ada'],
    ['inner spaces kept', 'Van der  Berg', 'Van der  Berg'],
    ['NFC', 'Zoe\u0308', 'Zo\u00eb'],
    ['unicode names kept', '美咲', '美咲'],
    ['quotes kept', 'Quentin "the brave"', 'Quentin "the brave"'],
    ['exactly 50 kept', 'a'.repeat(50), 'a'.repeat(50)],
    ['50 after NFC kept whole', `${'a'.repeat(49)}e\u0301`, `${'a'.repeat(49)}\u00e9`],
  ])('%s', (_, raw, value) => {
    expect(normaliseName(raw, limit)).toEqual({ value, hadControlCharacters: false, truncated: false });
  });

  it.each([
    ['51 ASCII characters: the first 50', 'a'.repeat(51), 'a'.repeat(50)],
    [
      'the generator’s long first name',
      'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstanze-Rosalind',
      'Maximiliana-Theodora-Wilhelmina-Bernadette-Konstan',
    ],
    ['a surrogate pair across the limit is left out whole', `${'a'.repeat(49)}😀b`, 'a'.repeat(49)],
    ['a surrogate pair ending at the limit is kept', `${'a'.repeat(48)}😀b`, `${'a'.repeat(48)}😀`],
    ['a letter and its combining mark stay together', `${'a'.repeat(49)}q\u0307x`, 'a'.repeat(49)],
    ['an emoji sequence is not split', `${'a'.repeat(45)}👩‍👩‍👧z`, 'a'.repeat(45)],
    ['white space before the cut is trimmed', `${'a'.repeat(45)}     bbbbbb`, 'a'.repeat(45)],
  ])('over the limit, truncated: %s', (_, raw, value) => {
    const result = normaliseName(raw, limit);
    expect(result).toEqual({ value, hadControlCharacters: false, truncated: true });
    expect((result.value ?? '').length).toBeLessThanOrEqual(limit);
    expect(result.value).not.toMatch(/[\ud800-\udbff]$/);
  });

  it.each([
    ['a line break', 'Brown\nsecond line', 'Brown second line'],
    ['CRLF with spaces around', 'Brown \r\n  second', 'Brown second'],
    ['a tab', 'Ada\tLovelace', 'Ada Lovelace'],
    ['a line separator', 'Ada\u2028Lovelace', 'Ada Lovelace'],
    ['a bell', 'Ada\u0007 Lovelace', 'Ada Lovelace'],
  ])('control characters become one space: %s', (_, raw, value) => {
    expect(normaliseName(raw, limit)).toEqual({ value, hadControlCharacters: true, truncated: false });
  });

  it('normalises printable ASCII names exactly as the general path does (property)', () => {
    const name = fc
      .array(
        fc.oneof(fc.constantFrom(' ', '  ', '-', "'", '"', 'a', 'Z'), fc.stringMatching(/^[ -~]{0,12}$/)),
        {
          maxLength: 10,
        },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(name, fc.integer({ min: 1, max: 60 }), (raw, max) => {
        expect(normaliseName(raw, max)).toEqual(normaliseAnyName(raw, max));
      }),
      { numRuns: 20_000 },
    );
  });
});
