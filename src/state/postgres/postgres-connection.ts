import type pg from 'pg';
import { StateError } from '../state-errors';
import type { PostgresLocation } from './postgres-state-url';

/**
 * The server ends an idle session whose client stopped answering after about idle + interval x
 * count seconds (10 + 5 x 3 = 25 s): a lock holder cut off from the network loses its session, and
 * with it its advisory locks, well within the 60 s the state promises (the OS default is 2 hours).
 */
const keepaliveSettings = ['tcp_keepalives_idle=10', 'tcp_keepalives_interval=5', 'tcp_keepalives_count=3'];

/** `schema` as a quoted SQL identifier: `"Team ""A"""`. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The startup `options` that put every connection on `schema` (and set the keepalives): the server
 * splits them on whitespace and takes a backslash as an escape, so both are escaped in the value.
 */
export function startupOptions(schema: string): string {
  const escapeOption = (value: string) => value.replace(/[\\\s]/g, (c) => `\\${c}`);
  return [`search_path=${quoteIdentifier(schema)}`, ...keepaliveSettings]
    .map((setting) => `-c ${escapeOption(setting)}`)
    .join(' ');
}

/** The pg client configuration of `location`: its connections start on the state's schema. */
export function postgresClientConfig(location: PostgresLocation, withSchema = true): pg.ClientConfig {
  return {
    host: location.host,
    port: location.port,
    user: location.user,
    ...(location.password === undefined ? {} : { password: location.password }),
    database: location.database,
    application_name: location.applicationName,
    ...(location.connectTimeoutSeconds > 0
      ? { connectionTimeoutMillis: location.connectTimeoutSeconds * 1000 }
      : {}),
    keepAlive: true,
    ssl: sslOption(location),
    ...(withSchema ? { options: startupOptions(location.schema) } : {}),
  };
}

function sslOption(location: PostgresLocation): pg.ClientConfig['ssl'] {
  switch (location.sslmode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      // libpq's require encrypts without checking the certificate.
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/**
 * A failure to reach or log in to the server as a `state-open-failed` StateError that says where and
 * what to do, never the password: pg's own message is kept only with the password scrubbed from it
 * (and the error itself is not attached as the cause, so no layer prints its fields).
 */
export function connectionFailed(location: PostgresLocation, error: unknown): StateError {
  const code = (error as { code?: unknown }).code;
  const raw = error instanceof Error ? error.message : String(error);
  const reason = scrub(raw, location.password);
  const where = `${location.host}:${location.port}`;
  const known: Record<string, { message: string; hint: string; reason: string }> = {
    '28P01': {
      reason: 'password-authentication-failed',
      message: `password authentication failed for user ${location.user} at ${where}`,
      hint: 'check the password in the state URL or PGPASSWORD (percent-encode special characters in the URL)',
    },
    '28000': {
      reason: 'not-authorized',
      message: `the server at ${where} refused user ${location.user}: ${reason}`,
      hint: 'ask the database administrator for access (pg_hba.conf) for this user and database',
    },
    '3D000': {
      reason: 'database-not-found',
      message: `the database ${location.database} does not exist at ${where}`,
      hint: `create it (CREATE DATABASE "${location.database}") or name an existing one in the state URL`,
    },
    ECONNREFUSED: {
      reason: 'unreachable',
      message: `no PostgreSQL server answers at ${where} (connection refused)`,
      hint: 'start the server, or fix the host and port in the state URL / PGHOST and PGPORT',
    },
    ENOTFOUND: {
      reason: 'unreachable',
      message: `the host ${location.host} of the PostgreSQL state is not known (DNS)`,
      hint: 'fix the host in the state URL or PGHOST',
    },
    ETIMEDOUT: {
      reason: 'unreachable',
      message: `the PostgreSQL server at ${where} did not answer in time`,
      hint: 'check that the server runs and that a firewall lets this machine reach it',
    },
  };
  const timedOut = /timeout/i.test(raw) ? known.ETIMEDOUT : undefined;
  const match = (typeof code === 'string' ? known[code] : undefined) ?? timedOut;
  return new StateError(
    'state-open-failed',
    `the state ${location.location} cannot be opened: ${match?.message ?? reason}`,
    {
      context: {
        location: location.location,
        reason: match?.reason ?? (typeof code === 'string' ? code : 'connection-failed'),
      },
      hint: match?.hint ?? `check that the server at ${where} runs and that the state URL is right`,
    },
  );
}

/**
 * Whether `error` is a failure to reach or stay connected to the server (not an SQL error of a
 * statement): SQLSTATE classes 08 (connection), 28 (authorization), 3D (no database), 57P0x (server
 * shutting down), Node's socket errors, and pg's own "Connection terminated" / timeout errors.
 */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return /^(08|28|3D|57P0)/.test(code) || /^E[A-Z]+$/.test(code);
  return error instanceof Error && /^(Connection terminated|timeout expired)/i.test(error.message);
}

/**
 * A connection to the state that broke under a command and stayed broken (see
 * `retryConnectionFaults`), as a `state-connection-lost` StateError: where, for how long it was
 * retried, pg's reason without the password, and what to do. A run stopped by it resumes from its
 * checkpoint on the next run: every write before it committed whole or not at all.
 */
export function connectionLost(
  location: {
    readonly location: string;
    readonly host: string;
    readonly port: number;
    readonly password?: string | undefined;
  },
  error: unknown,
  retriedMs: number,
): StateError {
  const raw = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const reason = scrub(raw, location.password);
  const where = `${location.host}:${location.port}`;
  const tried =
    retriedMs > 0
      ? `it did not come back in ${Math.round(retriedMs / 1000)} s of retries`
      : 'it broke while a commit was in flight, so whether that commit happened is not known';
  return new StateError(
    'state-connection-lost',
    `the connection to the state ${location.location} (server ${where}) was lost: ${reason}; ${tried}`,
    {
      context: {
        location: location.location,
        reason: typeof code === 'string' ? code : 'connection-lost',
        retriedMs,
      },
      hint:
        'check that the PostgreSQL server runs and is reachable, then run the command again: a run ' +
        'resumes from its last checkpoint (nothing confirmed is sent again)',
    },
  );
}

/**
 * The line to show while a broken connection is retried (see `retryConnectionFaults`): where, why,
 * and how long it waits; never the password.
 */
export function connectionRetryNotice(
  location: { readonly location: string; readonly password?: string | undefined },
  fault: { readonly attempt: number; readonly error: unknown; readonly delayMs: number },
  boundMs: number,
): string {
  const code = (fault.error as { code?: unknown } | null)?.code;
  const raw = fault.error instanceof Error ? fault.error.message : String(fault.error);
  const why = scrub(typeof code === 'string' ? `${code}: ${raw}` : raw, location.password);
  return `the connection to the state ${location.location} broke (${why}); retrying in ${(fault.delayMs / 1000).toFixed(1)} s, for up to ${Math.round(boundMs / 1000)} s in all`;
}

function scrub(text: string, password: string | undefined): string {
  if (password === undefined || password === '') return text;
  let out = text;
  for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join('***');
  return out;
}

/**
 * Whether `sql` only reads (a `SELECT` that locks no row), so it may run again whatever happened to
 * the connection it was sent on.
 */
export function isRead(sql: string): boolean {
  return /^\s*SELECT\b/i.test(sql) && !/\bFOR\s+(UPDATE|SHARE|NO KEY|KEY)\b/i.test(sql);
}
