import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE_URL, parseStateUrl, resolveStateUrl, StateError } from '../../../src/state';

describe('resolveStateUrl', () => {
  it('takes the flag, then EXPORTCTL_STATE, then the default', () => {
    expect(resolveStateUrl('sqlite:a.db', { EXPORTCTL_STATE: 'sqlite:b.db' })).toBe('sqlite:a.db');
    expect(resolveStateUrl(undefined, { EXPORTCTL_STATE: 'sqlite:b.db' })).toBe('sqlite:b.db');
    expect(resolveStateUrl(' ', { EXPORTCTL_STATE: '' })).toBe(DEFAULT_STATE_URL);
  });
});

const sqlitePath = (url: string) => {
  const location = parseStateUrl(url, '/repo');
  return location.backend === 'sqlite' ? location.path : undefined;
};

describe('parseStateUrl', () => {
  it('resolves relative sqlite paths against cwd and keeps absolute ones', () => {
    expect(parseStateUrl(DEFAULT_STATE_URL, '/repo')).toEqual({
      backend: 'sqlite',
      path: '/repo/.exportctl/state.db',
    });
    expect(sqlitePath('sqlite:/var/lib/exportctl/state.db')).toBe('/var/lib/exportctl/state.db');
    expect(sqlitePath('sqlite:///var/state.db')).toBe('/var/state.db');
    expect(sqlitePath('sqlite::memory:')).toBe(':memory:');
  });

  it('parses postgres:// and postgresql:// URLs; the location shown has no credentials', () => {
    const location = parseStateUrl(
      'postgres://ops:hunter%402@db.example.com:6432/exportctl?schema=Team-A&sslmode=require',
      '/repo',
    );
    expect(location).toEqual({
      backend: 'postgres',
      host: 'db.example.com',
      port: 6432,
      user: 'ops',
      password: 'hunter@2',
      database: 'exportctl',
      schema: 'Team-A',
      sslmode: 'require',
      applicationName: 'exportctl',
      connectTimeoutSeconds: 10,
      location: 'postgres://ops@db.example.com:6432/exportctl?schema=Team-A',
    });
    expect(parseStateUrl('postgresql://u@h/db', '/repo')).toMatchObject({
      backend: 'postgres',
      host: 'h',
      port: 5432,
      schema: 'exportctl',
      sslmode: 'prefer',
      password: undefined,
    });
  });

  it("fills what the URL leaves out from libpq's variables, and the URL wins over them", () => {
    const env = {
      PGHOST: 'pg.internal',
      PGPORT: '5433',
      PGUSER: 'svc',
      PGPASSWORD: 'from-env',
      PGDATABASE: 'state',
      PGSSLMODE: 'verify-full',
      PGAPPNAME: 'exportctl-ci',
      PGCONNECT_TIMEOUT: '3',
    };
    expect(parseStateUrl('postgres://', '/repo', env)).toMatchObject({
      host: 'pg.internal',
      port: 5433,
      user: 'svc',
      password: 'from-env',
      database: 'state',
      sslmode: 'verify-full',
      applicationName: 'exportctl-ci',
      connectTimeoutSeconds: 3,
      location: 'postgres://svc@pg.internal:5433/state?schema=exportctl',
    });
    expect(parseStateUrl('postgres://ops:pw@db:5432/prod?sslmode=disable', '/repo', env)).toMatchObject({
      host: 'db',
      port: 5432,
      user: 'ops',
      password: 'pw',
      database: 'prod',
      sslmode: 'disable',
    });
  });

  it.each([
    'postgres://ops:hunter2@db.example.com/x?sslmode=sometimes',
    'postgres://ops:hunter2@db.example.com:99999/x',
    'postgres://ops:hunter2@db.example.com/x?password=hunter2',
    'postgres://ops:hunter2@db.example.com/x?schema=',
  ])('refuses %s as state-url-invalid without the password', (url) => {
    let caught: unknown;
    try {
      const location = parseStateUrl(url, '/repo');
      // An empty schema parameter is the default schema, not an error.
      expect(location).toMatchObject({ schema: 'exportctl' });
      return;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StateError);
    expect((caught as StateError).code).toBe('state-url-invalid');
    expect(
      `${(caught as StateError).message} ${JSON.stringify(caught)} ${(caught as StateError).hint}`,
    ).not.toContain('hunter2');
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
