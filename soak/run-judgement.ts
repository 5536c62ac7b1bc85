import type { RunOutcome } from './run-outcome';
import type { FaultRates, ListMember, LoggedRequest } from './sandbox-inspection';

/**
 * How the oracle judges a run that did not succeed: whether the scenario gave it a reason, and
 * whether the code and message say so. Pure functions over what the run said and the sandbox saw.
 */

/** What a run may end with besides success, as the step that started it knows. */
export interface RunAllowance {
  /** A broken source: `must` fail with a source error before sending, or `may`. */
  readonly sourceFailure?: 'must' | 'may';
  /** The daily quota may run out: paused, or failed with quota-exceeded before planning. */
  readonly quota?: boolean;
  /** The removal guard `must` abort the run before sending, or `may`. */
  readonly removalGuard?: 'must' | 'may';
  /** Another run changed the list since this one ended (runs at once): judge its outcome, not the list. */
  readonly listChangedSince?: boolean;
}

/** What the oracle predicted of the removal guard for a run. */
export type GuardPrediction = 'must' | 'may' | 'no';

/** Failures that only repeated faults explain: the client gave up after its retries. */
export const gaveUpCodes: ReadonlySet<string> = new Set([
  'throttled',
  'server-error',
  'network-error',
  'request-timeout',
  'unauthorized',
  'token-request-failed',
  'import-not-accepted',
  'removal-not-accepted',
]);

/** The codes of a source that cannot be read as a whole (docs/troubleshooting.md, "Sources"). */
export const sourceErrorCodes: ReadonlySet<string> = new Set([
  'source-file-missing',
  'source-unreadable',
  'source-no-header',
  'source-duplicate-field',
  'source-field-missing',
  'source-unterminated-quote',
  'source-changed-while-read',
]);

/** The routes that change a list. */
export const writeRoutes: ReadonlySet<string> = new Set([
  'POST /v3/activities/contacts_json_import',
  'POST /v3/activities/remove_list_memberships',
]);

/** Whether any fault is set (a rate above 0). */
export function hasFaults(rates: FaultRates): boolean {
  return [
    rates.connectionReset,
    rates.serverError,
    rates.unavailable,
    rates.throttled,
    rates.tokenExpiry,
    rates.slow,
    rates.tokenSlow,
  ].some((rate) => (rate ?? 0) > 0);
}

/** The requests of these API keys that arrived while a process was alive. */
export function requestsDuring(
  requests: readonly LoggedRequest[],
  clients: ReadonlySet<string>,
  span: { readonly startedAt: number; readonly endedAt: number },
): LoggedRequest[] {
  return requests.filter(
    (request) =>
      request.clientId !== undefined &&
      clients.has(request.clientId) &&
      request.at >= span.startedAt &&
      request.at <= span.endedAt,
  );
}

/** Whether a request was answered with a fault (or a status a fault gives). */
function answeredWithFault(request: LoggedRequest): boolean {
  return request.fault !== undefined || [0, 401, 429, 500, 503].includes(request.status);
}

/** Whether the last of these requests was answered with a fault (or a status a fault gives). */
export function lastAnsweredWithFault(requests: readonly LoggedRequest[]): boolean {
  const last = requests[requests.length - 1];
  return last !== undefined && answeredWithFault(last);
}

/**
 * Whether faults explain that a destination's run gave up, from the requests of its API keys while
 * its process lived (`requestsDuring`). Alone on its keys, the run stopped sending when it gave up,
 * so the last of them must be a fault. With another destination of the same process on one of its
 * keys (`run --all`), that one may go on and succeed after the failure, so a faulted answer among
 * them is all the log can show: the log does not say which destination a request was for.
 */
export function faultsExplainGivingUp(
  keyRequests: readonly LoggedRequest[],
  sharesKeyInProcess: boolean,
): boolean {
  return sharesKeyInProcess ? keyRequests.some(answeredWithFault) : lastAnsweredWithFault(keyRequests);
}

export interface FailureFacts {
  /** `exportctl run d1`, for the message. */
  readonly what: string;
  readonly outcome: RunOutcome;
  readonly allowance: RunAllowance;
  readonly guard: GuardPrediction;
  /** Faults were set, and the requests of its keys show them explaining a give-up (`faultsExplainGivingUp`). */
  readonly faultsHitLast: boolean;
}

/**
 * Whether a run that did not succeed ended for a reason the scenario gave it, with the status, code
 * and message that reason calls for: undefined when it did, else what is wrong.
 */
export function judgeFailure(facts: FailureFacts): { kind: string; message: string } | undefined {
  const { what, outcome, allowance, guard } = facts;
  const code = outcome.errorCode ?? '';
  const message = outcome.message ?? '';
  const said = `${outcome.status} (${code || 'no code'}: ${message || 'no message'})`;
  const wrong = (text: string) => ({ kind: 'unexpected-outcome', message: `${what} ${text}` });
  if (outcome.status === 'paused') {
    if (outcome.pauseReason === 'quota' && allowance.quota) return undefined;
    return wrong(`paused (${outcome.pauseReason ?? '?'}) with nothing to pause it: ${message}`);
  }
  if (sourceErrorCodes.has(code)) {
    if (!allowance.sourceFailure) return wrong(`ended ${said}, but its source is not broken`);
    if (!message.includes('profiles.csv') && !message.includes('segment-membership.csv'))
      return {
        kind: 'wrong-message',
        message: `${what} failed for its source but the message names no file: ${message}`,
      };
    return undefined;
  }
  if (code === 'removal-guard') {
    if (outcome.status !== 'aborted') return wrong(`ended ${said}: the removal guard aborts`);
    if (guard === 'no' && allowance.removalGuard === undefined)
      return wrong(`ended ${said}, but its removals are within maxRemovalPercent`);
    return undefined;
  }
  if (code === 'quota-exceeded' && allowance.quota) return undefined;
  if (gaveUpCodes.has(code) && facts.faultsHitLast) return undefined;
  return wrong(`ended ${said}${allowance.sourceFailure === 'must' ? ' (a source error was expected)' : ''}`);
}

/** Whether a failure is one that must have come before anything was sent. */
export function failedBeforeSending(outcome: RunOutcome): boolean {
  const code = outcome.errorCode ?? '';
  if (outcome.status !== 'failed' && outcome.status !== 'aborted') return false;
  return (
    sourceErrorCodes.has(code) ||
    code === 'removal-guard' ||
    (code === 'quota-exceeded' && outcome.status === 'failed')
  );
}

/** Members (email, names) added or changed, and removed or changed, between two readings of a list. */
export function listChanges(
  before: readonly ListMember[],
  after: readonly ListMember[],
): { readonly added: string[]; readonly removed: string[] } {
  const shown = (members: readonly ListMember[]) =>
    new Set(
      members.map((member) => `${member.email.toLowerCase()}|${member.first_name}|${member.last_name}`),
    );
  const then = shown(before);
  const now = shown(after);
  return {
    added: [...now].filter((entry) => !then.has(entry)).sort(),
    removed: [...then].filter((entry) => !now.has(entry)).sort(),
  };
}
