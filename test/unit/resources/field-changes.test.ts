import { describe, expect, it } from 'vitest';
import { fieldChanges } from '../../../src/resources/field-changes';

describe('fieldChanges', () => {
  it('names each changed leaf; lists compare whole; equal values give nothing', () => {
    const before = {
      segments: ['VIP'],
      dataMatching: { email: 'Email', firstName: 'First' },
      removal: 'keep',
    };
    const after = {
      segments: ['VIP', 'Newsletter'],
      dataMatching: { email: 'Email' },
      removal: 'keep',
      maxRemovalPercent: 5,
    };
    expect(fieldChanges(before, after)).toEqual([
      { path: 'dataMatching.firstName', before: 'First', sensitive: false, forcesReplacement: false },
      { path: 'maxRemovalPercent', after: 5, sensitive: false, forcesReplacement: false },
      {
        path: 'segments',
        before: ['VIP'],
        after: ['VIP', 'Newsletter'],
        sensitive: false,
        forcesReplacement: false,
      },
    ]);
    expect(fieldChanges(before, structuredClone(before))).toEqual([]);
  });

  it('marks replacement and sensitive paths, by exact path or prefix', () => {
    const changes = fieldChanges(
      { listId: 'a', auth: { clientSecret: { env: 'A' } } },
      { listId: 'b', auth: { clientSecret: { env: 'B' } } },
      { replaceOn: ['listId'], sensitive: ['auth'] },
    );
    expect(changes).toEqual([
      { path: 'auth.clientSecret.env', before: 'A', after: 'B', sensitive: true, forcesReplacement: false },
      { path: 'listId', before: 'a', after: 'b', sensitive: false, forcesReplacement: true },
    ]);
  });

  it('walks a whole object that appears or disappears', () => {
    expect(fieldChanges(undefined, { a: { b: 1 } }).map((change) => change.path)).toEqual(['a.b']);
    expect(fieldChanges({ a: { b: 1 } }, undefined).map((change) => change.path)).toEqual(['a.b']);
  });
});
