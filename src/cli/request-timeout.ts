import { Option } from 'commander';
// The files, not the index: every command registers its flags at start, and the index loads the client.
import { clientEnvironmentVariables } from '../constant-contact/client-environment';
import { retryNoticeLogger } from '../constant-contact/retry-notices';
import type { RequestSettings } from '../resources/live-handler-context';
import { type CliContext, writeLine } from './cli-context';
import { parseDuration } from './parse-duration';

/** The default of `--request-timeout`. */
export const defaultRequestTimeout = '30s';

/** `--request-timeout DURATION`, for the commands that call Constant Contact. */
export function requestTimeoutOption(): Option {
  return new Option(
    '--request-timeout <duration>',
    'give up on a Constant Contact call, its retries included, after this long',
  ).default(defaultRequestTimeout);
}

/**
 * How the command's Constant Contact calls are made: `--request-timeout` (validated: an invalid
 * duration is a UsageError naming the flag), and a line on stderr for every retry, whatever the
 * output format (stdout stays the command's result).
 */
export function requestSettings(requestTimeout: string, context: CliContext): Required<RequestSettings> {
  return {
    timeoutMs: parseDuration(requestTimeout, '--request-timeout'),
    logger: retryNoticeLogger((line) => writeLine(context.stderr, line)),
  };
}

/**
 * The environment of the export worker `exportctl run` starts: its clients are made by the run
 * engine, so they take the request timeout and the retry notices (on the worker's stderr, which
 * Node pipes into this process's) from `clientEnvironmentVariables`.
 */
export function workerEnvironment(settings: RequestSettings, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    ...(settings.timeoutMs === undefined
      ? {}
      : { [clientEnvironmentVariables.requestTimeoutMs]: String(settings.timeoutMs) }),
    [clientEnvironmentVariables.retryNotices]: 'stderr',
  };
}
