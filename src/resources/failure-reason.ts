import { ExportctlError } from '../errors';

/**
 * Codes that say Constant Contact refused a connection's credentials (API-NOTES.md "Endpoints and
 * auth"): its refresh token (`invalid_grant`), its client ID or secret, its access even after a
 * refresh, or its scopes.
 */
const credentialCodes: ReadonlySet<string> = new Set([
  'reauthorization-required',
  'invalid-client',
  'unauthorized',
  'forbidden',
]);

/**
 * True when `error` says Constant Contact refused a connection's credentials. Reads only the code
 * (and the status in its context), so an error that crossed from the export worker as a plain
 * ExportctlError is judged the same. A token request refused with a 4xx other than 429 is a
 * refusal; one that got no answer or a 5xx is not.
 */
export function isCredentialRejection(error: unknown): boolean {
  if (!(error instanceof ExportctlError)) return false;
  if (credentialCodes.has(error.code)) return true;
  const status = error.context.status;
  return (
    error.code === 'token-request-failed' &&
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    status !== 429
  );
}

/**
 * The condition reason a failed remote check comes to: `CredentialsRejected` (re-authorise or fix
 * the secrets), `DependencyNotApplied` (apply what it uses first), else `Unreachable` (the endpoint
 * did not answer, or answered with a failure; the message says which).
 */
export function failureReason(
  error: unknown,
): 'CredentialsRejected' | 'DependencyNotApplied' | 'Unreachable' {
  if (isCredentialRejection(error)) return 'CredentialsRejected';
  if (error instanceof ExportctlError && error.code === 'dependency-not-applied')
    return 'DependencyNotApplied';
  return 'Unreachable';
}
