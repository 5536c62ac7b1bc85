import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, specHash } from '../../../src/state';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined properties', () => {
    expect(canonicalJson({ b: 1, a: [true, { d: 'x', c: null }], u: undefined })).toBe(
      '{"a":[true,{"c":null,"d":"x"}],"b":1}',
    );
  });

  it('refuses values JSON cannot represent instead of altering them', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson([1, undefined])).toThrow(/\$\[1\] is undefined/);
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(/Date/);
    expect(() => canonicalJson({ big: 1n })).toThrow(/bigint/);
  });
});

describe('specHash', () => {
  it('is sha256 of the canonical JSON', () => {
    const expected = createHash('sha256').update('{"a":[1,{"c":3,"d":2}],"b":"é"}').digest('hex');
    expect(specHash({ b: 'é', a: [1, { d: 2, c: 3 }] })).toBe(`sha256:${expected}`);
  });

  it('ignores key order and changes with any value', () => {
    const spec = { listId: 'x', segments: ['VIP', 'Newsletter'], dataMatching: { email: 'Email' } };
    const reordered = { dataMatching: { email: 'Email' }, segments: ['VIP', 'Newsletter'], listId: 'x' };
    expect(specHash(reordered)).toBe(specHash(spec));
    expect(specHash({ ...spec, segments: ['Newsletter', 'VIP'] })).not.toBe(specHash(spec));
    expect(specHash({ ...spec, dataMatching: { email: 'email' } })).not.toBe(specHash(spec));
  });
});
