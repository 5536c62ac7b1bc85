import { describe, expect, it } from 'vitest';
import { noun, plural } from '../../../src/text';

describe('plural', () => {
  it.each([
    [0, 'contact', undefined, '0 contacts'],
    [1, 'contact', undefined, '1 contact'],
    [2, 'warning', undefined, '2 warnings'],
    [1_000_000, 'contact', undefined, '1,000,000 contacts'],
    [1, 'query', 'queries', '1 query'],
    [3, 'query', 'queries', '3 queries'],
  ])('%d %s -> %s', (count, singular, pluralForm, expected) => {
    expect(plural(count, singular, pluralForm)).toBe(expected);
  });

  it('gives the noun alone for a count written apart', () => {
    expect(`0/1 ${noun(1, 'call')}`).toBe('0/1 call');
    expect(`2/3 ${noun(3, 'call')}`).toBe('2/3 calls');
  });
});
