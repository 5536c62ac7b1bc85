import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  maxSelectedSegments,
  type RowIssue,
  SegmentSelection,
  SourceError,
  selectSegmentMembers,
} from '../../../src/profiles';
import { profileFixture } from '../../support/profile-fixtures';

const membership = {
  type: 'csv' as const,
  file: join(profileFixture('membership-segments'), 'segment-membership.csv'),
};

async function select(segments: string[]) {
  const issues: RowIssue[] = [];
  const result = await selectSegmentMembers(membership, 'CustomerId', 'Segment', segments, (issue) =>
    issues.push(issue),
  );
  return { ...result, issues };
}

describe('selectSegmentMembers', () => {
  it('keeps the members of the selected segments, each with the segments it is in', async () => {
    const { selection } = await select(['VIP', 'Newsletter']);
    expect(selection.size).toBe(3);
    expect(selection.segmentsOf('K1')).toEqual(['VIP', 'Newsletter']);
    expect(selection.segmentsOf('K2')).toEqual(['Newsletter']);
    expect(selection.segmentsOf('K6')).toEqual(['VIP']);
    expect(selection.membersPerSegment()).toEqual({ VIP: 2, Newsletter: 2 });
  });

  it('matches segment names exactly: "vip" and " VIP" are not "VIP", and are listed as near misses', async () => {
    const { selection, summary } = await select(['VIP']);
    expect(selection.has('K3')).toBe(false);
    expect(selection.has('K4')).toBe(false);
    expect(summary.nearMisses).toEqual([
      { found: ' VIP', selected: 'VIP' },
      { found: 'vip', selected: 'VIP' },
    ]);
  });

  it('reports a selected row without a key and a broken row that may be selected, not others', async () => {
    const { issues, summary } = await select(['VIP', 'Newsletter']);
    expect(issues.map(({ code, key, where }) => ({ code, key, line: where.line }))).toEqual([
      { code: 'missing-key', key: undefined, line: 7 },
      { code: 'column-count', key: 'K7', line: 12 },
    ]);
    expect(summary.rows).toBe(12);
  });

  it('refuses more segments than a mask holds', () => {
    const many = Array.from({ length: maxSelectedSegments + 1 }, (_, index) => `S${index}`);
    expect(() => new SegmentSelection(many)).toThrow(SourceError);
  });
});

describe('SegmentSelection', () => {
  it('keeps every one of 52 segment bits exact', () => {
    const segments = Array.from({ length: maxSelectedSegments }, (_, index) => `S${index}`);
    const selection = new SegmentSelection(segments);
    for (const index of [0, 30, 31, 32, 50, 51]) selection.add('k', index);
    selection.add('k', 51);
    expect(selection.segmentsOf('k')).toEqual(['S0', 'S30', 'S31', 'S32', 'S50', 'S51']);
  });

  it('claims a key once; later claims say so; unclaimed members are counted', () => {
    const selection = new SegmentSelection(['A', 'B']);
    selection.add('k1', 1);
    selection.add('k2', 0);
    expect(selection.claim('k1')).toEqual(['B']);
    expect(selection.claim('k1')).toBe('claimed');
    expect(selection.claim('nope')).toBeUndefined();
    expect(selection.segmentsOf('k1')).toEqual(['B']);
    expect(selection.unclaimed()).toBe(1);
  });

  it('tells apart every key a map would, over growth: prefixes, case, non-ASCII, lone surrogates', () => {
    const selection = new SegmentSelection(['A', 'B', 'C']);
    const reference = new Map<string, Set<number>>();
    const keys: string[] = [];
    for (let index = 0; index < 10_000; index++) keys.push(`C${index}`, `c${index}`, `C${index}0`);
    keys.push('é', 'e\u0301', '\ud800', '\udc00', '\ud800\udc00', '\uffff', 'ü'.repeat(300));
    keys.forEach((key, index) => {
      if (index % 3 === 2 && index % 7 !== 0) return;
      const segment = index % 3;
      selection.add(key, segment);
      reference.set(key, (reference.get(key) ?? new Set()).add(segment));
    });
    expect(selection.size).toBe(reference.size);
    const names = ['A', 'B', 'C'];
    const expected = (key: string) => {
      const segments = reference.get(key);
      return segments === undefined ? undefined : names.filter((_, index) => segments.has(index));
    };
    const asked = [...keys, 'C', 'C400000', 'ü'.repeat(299), '\ud801'];
    expect(asked.map((key) => selection.segmentsOf(key))).toEqual(asked.map(expected));
    expect(asked.map((key) => selection.has(key))).toEqual(asked.map((key) => reference.has(key)));
    const lone = ['\ud800', '\udc00'].filter((key) => reference.has(key));
    expect(lone.length).toBe(2);
    for (const key of lone) {
      expect(selection.claim(key)).toEqual(expected(key));
      expect(selection.claim(key)).toBe('claimed');
    }
    expect(selection.unclaimed()).toBe(reference.size - 2);
  });
  it('keeps keys a byte a unit only while they fit: a wider key widens the arena, none is truncated', () => {
    const selection = new SegmentSelection(['A']);
    // Latin-1 units (up to U+00FF) are held one byte each; U+0100 as a byte would be U+0000.
    for (const key of ['\u0000', 'ÿ', 'x\u0001', 'café']) selection.add(key, 0);
    expect(selection.has('\u0100')).toBe(false);
    expect(selection.has('x\u0101')).toBe(false);
    expect(selection.has('caf\u01e9')).toBe(false);
    selection.add('\u0100', 0);
    selection.add('\u{1F600}', 0);
    for (const key of ['\u0000', 'ÿ', 'x\u0001', 'café', '\u0100', '\u{1F600}'])
      expect(selection.has(key)).toBe(true);
    expect(selection.has('x\u0101')).toBe(false);
    expect(selection.has('\u0001')).toBe(false);
    expect(selection.size).toBe(6);
    expect(selection.claim('café')).toEqual(['A']);
    expect(selection.unclaimed()).toBe(5);
  });
});
