import { isAbsolute, resolve } from 'node:path';
import { StateError } from './state-errors';

/** Where the state is when neither --state nor EXPORTCTL_STATE says. */
export const DEFAULT_STATE_URL = 'sqlite:.exportctl/state.db';

export const STATE_URL_ENV = 'EXPORTCTL_STATE';

/** A parsed state URL. */
export interface StateLocation {
  readonly backend: 'sqlite';
  /** An absolute file path, or `:memory:`. */
  readonly path: string;
}

/**
 * The URL to open: `flag` (--state), else EXPORTCTL_STATE, else {@link DEFAULT_STATE_URL}. Blank
 * values count as absent.
 */
export function resolveStateUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag?.trim() || env[STATE_URL_ENV]?.trim() || DEFAULT_STATE_URL;
}

/**
 * Parses `sqlite:PATH` (relative to `cwd`), `sqlite:/abs/path.db`, `sqlite:///abs/path.db` and
 * `sqlite::memory:`. `postgres://` and `postgresql://` throw `state-backend-unsupported`; anything
 * else throws `state-url-invalid`. Messages never repeat a URL's user name or password.
 */
export function parseStateUrl(url: string, cwd: string): StateLocation {
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
  if (scheme === 'postgres' || scheme === 'postgresql') {
    throw new StateError(
      'state-backend-unsupported',
      `PostgreSQL state (${redactUrl(trimmed)}) is not supported yet by this version of exportctl`,
      {
        context: { url: redactUrl(trimmed), backend: 'postgres' },
        hint: `use a SQLite state for now: --state ${DEFAULT_STATE_URL}`,
      },
    );
  }
  throw new StateError(
    'state-url-invalid',
    `the state URL ${redactUrl(trimmed)} is not one exportctl knows`,
    {
      context: { url: redactUrl(trimmed) },
      hint: `write sqlite:PATH (default ${DEFAULT_STATE_URL}) or sqlite::memory:`,
    },
  );
}

/** `url` with any user name and password replaced by `***`. */
export function redactUrl(url: string): string {
  // Greedy up to the last '@': a password with an unencoded '/' or '@' is still hidden.
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/).*@/, '$1***@');
}
