import { isAbsolute, resolve } from 'node:path';
import {
  type PostgresLocation,
  parsePostgresStateUrl,
  redactPostgresUrl,
} from './postgres/postgres-state-url';
import { StateError } from './state-errors';

/** Where the state is when neither --state nor EXPORTCTL_STATE says. */
export const DEFAULT_STATE_URL = 'sqlite:.exportctl/state.db';

export const STATE_URL_ENV = 'EXPORTCTL_STATE';

/** A parsed `sqlite:` state URL. */
export interface SqliteLocation {
  readonly backend: 'sqlite';
  /** An absolute file path, or `:memory:`. */
  readonly path: string;
}

/** A parsed state URL: which backend, and where in it. */
export type StateLocation = SqliteLocation | PostgresLocation;

/**
 * The URL to open: `flag` (--state), else EXPORTCTL_STATE, else {@link DEFAULT_STATE_URL}. Blank
 * values count as absent.
 */
export function resolveStateUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag?.trim() || env[STATE_URL_ENV]?.trim() || DEFAULT_STATE_URL;
}

/**
 * Parses `sqlite:PATH` (relative to `cwd`), `sqlite:/abs/path.db`, `sqlite:///abs/path.db`,
 * `sqlite::memory:`, and `postgres://…` / `postgresql://…` (see `parsePostgresStateUrl`; libpq's
 * variables are read from `env`). Anything else throws `state-url-invalid`. Messages never repeat a
 * URL's user name or password.
 */
export function parseStateUrl(url: string, cwd: string, env: NodeJS.ProcessEnv = {}): StateLocation {
  const trimmed = url.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    let path = trimmed.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (path === ':memory:') return { backend: 'sqlite', path: ':memory:' };
    if (path === '' || path.endsWith('/')) {
      throw new StateError(
        'state-url-invalid',
        `the state URL ${redactUrl(trimmed)} names no database file`,
        {
          context: { url: redactUrl(trimmed) },
          hint: `write sqlite:PATH, e.g. ${DEFAULT_STATE_URL}`,
        },
      );
    }
    return { backend: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') return parsePostgresStateUrl(trimmed, env);
  throw new StateError(
    'state-url-invalid',
    `the state URL ${redactUrl(trimmed)} is not one exportctl knows`,
    {
      context: { url: redactUrl(trimmed) },
      hint: `write sqlite:PATH (default ${DEFAULT_STATE_URL}), sqlite::memory: or postgres://USER@HOST/DATABASE?schema=NAME`,
    },
  );
}

/** `url` with any user name and password replaced by `***`. */
export function redactUrl(url: string): string {
  return redactPostgresUrl(url);
}
