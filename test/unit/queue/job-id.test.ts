import { describe, expect, it } from 'vitest';
import { firingKey, jobIdOf, queueSchemaOf } from '../../../src/queue';

describe('run queue job ids', () => {
  it('derive the same version-5 UUID from the same firing, whichever worker asks', () => {
    const fired = Date.parse('2026-11-23T06:00:00Z');
    const key = firingKey('vip-newsletter', fired);
    expect(key).toBe('schedule:vip-newsletter@2026-11-23T06:00:00.000Z');
    const id = jobIdOf(key);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(jobIdOf(firingKey('vip-newsletter', fired))).toBe(id);
  });

  it('differ between firings and between destinations', () => {
    const fired = Date.parse('2026-11-23T06:00:00Z');
    const ids = new Set([
      jobIdOf(firingKey('vip-newsletter', fired)),
      jobIdOf(firingKey('vip-newsletter', fired + 60_000)),
      jobIdOf(firingKey('win-back', fired)),
      jobIdOf('data:vip-newsletter@profiles:/srv/data/profiles.csv:120:1700000000000'),
    ]);
    expect(ids.size).toBe(4);
  });
});

describe('queue schema', () => {
  it("is the state schema's sibling, and refuses a name pg-boss cannot write unquoted", () => {
    expect(queueSchemaOf('exportctl')).toBe('exportctl_queue');
    expect(() => queueSchemaOf('Team A')).toThrow(/must be lower-case letters, digits and _/);
  });
});
