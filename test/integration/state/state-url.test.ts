import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE_URL, parseStateUrl, resolveStateUrl, StateError } from '../../../src/state';

describe('resolveStateUrl', () => {
  it('takes the flag, then EXPORTCTL_STATE, then the default', () => {
    expect(resolveStateUrl('sqlite:a.db', { EXPORTCTL_STATE: 'sqlite:b.db' })).toBe('sqlite:a.db');
    expect(resolveStateUrl(undefined, { EXPORTCTL_STATE: 'sqlite:b.db' })).toBe('sqlite:b.db');
    expect(resolveStateUrl(' ', { EXPORTCTL_STATE: '' })).toBe(DEFAULT_STATE_URL);
  });
});

describe('parseStateUrl', () => {
  it('resolves relative sqlite paths against cwd and keeps absolute ones', () => {
    expect(parseStateUrl(DEFAULT_STATE_URL, '/repo')).toEqual({
      backend: 'sqlite',
      path: '/repo/.exportctl/state.db',
    });
    expect(parseStateUrl('sqlite:/var/lib/exportctl/state.db', '/repo').path).toBe(
      '/var/lib/exportctl/state.db',
    );
    expect(parseStateUrl('sqlite:///var/state.db', '/repo').path).toBe('/var/state.db');
    expect(parseStateUrl('sqlite::memory:', '/repo').path).toBe(':memory:');
  });

  it('says PostgreSQL is not supported yet, without the password', () => {
    let caught: unknown;
    try {
      parseStateUrl('postgres://ops:hunter2@db.example.com/exportctl', '/repo');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateError);
    expect((caught as StateError).code).toBe('state-backend-unsupported');
    expect((caught as StateError).message).toContain('postgres://***@db.example.com/exportctl');
    expect(JSON.stringify(caught)).not.toContain('hunter2');
    expect(() => parseStateUrl('postgresql://h/db', '/repo')).toThrow(
      expect.objectContaining({ code: 'state-backend-unsupported' }),
    );
  });

  it.each(['mysql://h/db', 'state.db', 'sqlite:', 'sqlite:folder/'])(
    'refuses %s as state-url-invalid',
    (url) => {
      expect(() => parseStateUrl(url, '/repo')).toThrow(
        expect.objectContaining({ code: 'state-url-invalid' }),
      );
    },
  );
});
