import { userInfo } from 'node:os';
import { StateError } from '../state-errors';

/** The default schema of a PostgreSQL state: one schema per state, many states per database. */
export const DEFAULT_POSTGRES_SCHEMA = 'exportctl';

/** libpq's `sslmode` values; `prefer` and `allow` connect without TLS (the pg client cannot fall back). */
export type PostgresSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

const sslModes: readonly PostgresSslMode[] = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
];

/** A parsed `postgres://` state URL, with libpq's environment variables filled in. */
export interface PostgresLocation {
  readonly backend: 'postgres';
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Never shown: not in {@link location}, not in any message. */
  readonly password: string | undefined;
  readonly database: string;
  readonly schema: string;
  readonly sslmode: PostgresSslMode;
  readonly applicationName: string;
  /** Seconds; 0 waits as long as the OS does. */
  readonly connectTimeoutSeconds: number;
  /** `postgres://user@host:port/database?schema=NAME`: what messages and `status` show. */
  readonly location: string;
}

const queryParameters = ['schema', 'sslmode', 'application_name', 'connect_timeout', 'host', 'port'] as const;

/**
 * Parses `postgres://[user[:password]@]host[:port]/database[?schema=NAME&sslmode=…]` (or
 * `postgresql://`). What the URL leaves out comes from libpq's variables in `env` (PGHOST, PGPORT,
 * PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGAPPNAME, PGCONNECT_TIMEOUT), then libpq's defaults
 * (localhost, 5432, the OS user, the database named as the user). Throws `state-url-invalid`
 * naming the URL without its credentials.
 */
export function parsePostgresStateUrl(url: string, env: NodeJS.ProcessEnv): PostgresLocation {
  const shown = redactPostgresUrl(url);
  const invalid = (what: string, hint: string) =>
    new StateError('state-url-invalid', `the state URL ${shown} ${what}`, { context: { url: shown }, hint });
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^postgresql:/i, 'postgres:'));
  } catch {
    throw invalid(
      'is not a valid URL',
      'write postgres://USER@HOST:PORT/DATABASE?schema=NAME (percent-encode special characters)',
    );
  }
  for (const key of parsed.searchParams.keys()) {
    if (!(queryParameters as readonly string[]).includes(key)) {
      throw invalid(`has an unknown parameter "${key}"`, `known parameters: ${queryParameters.join(', ')}`);
    }
  }
  const param = (name: (typeof queryParameters)[number]) => blankToUndefined(parsed.searchParams.get(name));
  const fromEnv = (name: string) => blankToUndefined(env[name]);
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw invalid('has a malformed percent-encoding', 'percent-encode the user name and password');
    }
  };

  const host = param('host') ?? blankToUndefined(decode(parsed.hostname)) ?? fromEnv('PGHOST') ?? 'localhost';
  const portText = param('port') ?? blankToUndefined(parsed.port) ?? fromEnv('PGPORT') ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(
      `has port "${portText}", not a number from 1 to 65535`,
      'write HOST:PORT, e.g. db.example.com:5432',
    );
  }
  const user = blankToUndefined(decode(parsed.username)) ?? fromEnv('PGUSER') ?? userInfo().username;
  const password = blankToUndefined(decode(parsed.password)) ?? fromEnv('PGPASSWORD');
  const database =
    blankToUndefined(decode(parsed.pathname.replace(/^\//, ''))) ?? fromEnv('PGDATABASE') ?? user;
  const schema = param('schema') ?? DEFAULT_POSTGRES_SCHEMA;
  if (Buffer.byteLength(schema) > 63 || [...schema].some((c) => c.charCodeAt(0) < 0x20)) {
    throw invalid(
      `names the schema "${schema}", which PostgreSQL cannot hold`,
      'a schema name has at most 63 bytes and no control characters',
    );
  }
  const sslmode = (param('sslmode') ?? fromEnv('PGSSLMODE') ?? 'prefer') as PostgresSslMode;
  if (!sslModes.includes(sslmode)) {
    throw invalid(`has sslmode "${sslmode}"`, `sslmode is one of ${sslModes.join(', ')}`);
  }
  const timeoutText = param('connect_timeout') ?? fromEnv('PGCONNECT_TIMEOUT') ?? '10';
  const connectTimeoutSeconds = Number(timeoutText);
  if (!Number.isFinite(connectTimeoutSeconds) || connectTimeoutSeconds < 0) {
    throw invalid(`has connect_timeout "${timeoutText}"`, 'connect_timeout is a number of seconds');
  }
  const applicationName = param('application_name') ?? fromEnv('PGAPPNAME') ?? 'exportctl';
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    backend: 'postgres',
    host,
    port,
    user,
    password,
    database,
    schema,
    sslmode,
    applicationName,
    connectTimeoutSeconds,
    location:
      `postgres://${encodeURIComponent(user)}@${hostPart}:${port}/${encodeURIComponent(database)}` +
      `?schema=${encodeURIComponent(schema)}`,
  };
}

/** `url` with its user name and password replaced by `***` (for a URL that failed to parse). */
export function redactPostgresUrl(url: string): string {
  // Greedy up to the last '@': a password with an unencoded '/' or '@' is still hidden.
  return url
    .replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/).*@/, '$1***@')
    .replace(/([?&]password=)[^&]*/i, '$1***');
}

function blankToUndefined(value: string | null | undefined): string | undefined {
  return value === null || value === undefined || value.trim() === '' ? undefined : value;
}
