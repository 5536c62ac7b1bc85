import { ConstantContactError } from './constant-contact-errors';
import type { ApiLogger } from './request-observer';
import { retryNoticeLogger } from './retry-notices';

/**
 * The environment variables a client falls back on when its options leave the setting out. They
 * exist for a thread whose clients are made by code that does not take these options: the export
 * worker the CLI starts for `exportctl run` (the run engine makes its clients), whose environment
 * the CLI sets from `--request-timeout`.
 */
export const clientEnvironmentVariables = {
  /** `timeouts.callMs`, in whole milliseconds. */
  requestTimeoutMs: 'EXPORTCTL_REQUEST_TIMEOUT_MS',
  /** `stderr`: a `retryNoticeLogger` that writes each retry notice to this thread's stderr. */
  retryNotices: 'EXPORTCTL_RETRY_NOTICES',
} as const;

/** What `clientEnvironmentVariables` set, as client options. */
export interface ClientEnvironmentDefaults {
  readonly callMs?: number;
  readonly logger?: ApiLogger;
}

/**
 * Reads `clientEnvironmentVariables` from `env` (default: this thread's `process.env`). Throws a
 * ConstantContactError `invalid-argument` naming the variable when a value cannot be used.
 */
export function clientEnvironmentDefaults(env: NodeJS.ProcessEnv = process.env): ClientEnvironmentDefaults {
  const timeout = env[clientEnvironmentVariables.requestTimeoutMs];
  const notices = env[clientEnvironmentVariables.retryNotices];
  let callMs: number | undefined;
  if (timeout !== undefined && timeout !== '') {
    callMs = Number(timeout);
    if (!/^\d+$/.test(timeout.trim()) || callMs < 1) {
      throw new ConstantContactError(
        'invalid-argument',
        `${clientEnvironmentVariables.requestTimeoutMs}=${JSON.stringify(timeout)} is not a whole number of milliseconds`,
        { hint: `unset it, or set it like ${clientEnvironmentVariables.requestTimeoutMs}=30000` },
      );
    }
  }
  if (notices !== undefined && notices !== '' && notices !== 'stderr') {
    throw new ConstantContactError(
      'invalid-argument',
      `${clientEnvironmentVariables.retryNotices}=${JSON.stringify(notices)} is not a place retry notices can go`,
      { hint: `unset it, or set ${clientEnvironmentVariables.retryNotices}=stderr` },
    );
  }
  return {
    ...(callMs === undefined ? {} : { callMs }),
    ...(notices === 'stderr'
      ? { logger: retryNoticeLogger((line) => process.stderr.write(`${line}\n`)) }
      : {}),
  };
}
