/**
 * Every kind of manifest problem, with a stable code. `--output json` prints these codes and
 * docs/troubleshooting.md explains each; tests assert on them, never on message text.
 */
export const problemCodes = {
  'path-not-found': 'a PATH argument does not exist',
  'no-manifests': 'a PATH holds no *.yaml / *.yml manifests',
  'file-unreadable': 'a manifest file cannot be read',
  'yaml-syntax': 'the YAML does not parse',
  'not-a-manifest': 'a YAML document is not a mapping with apiVersion and kind',
  'unsupported-api-version': 'apiVersion is not exportctl/v1',
  'unknown-kind': 'kind is not one of Connection, ProfileSource, ExportDestination, Refresh, Access',
  'missing-field': 'a required field is absent',
  'unknown-field': 'a field the schema does not define',
  'wrong-type': 'a value of the wrong type',
  'invalid-value': 'a value outside what the schema allows',
  'invalid-format': 'a value that does not match its format (name, UUID, email, URL)',
  'literal-secret': 'a secret written into the manifest instead of referenced',
  'duplicate-name': 'two resources of one kind share a name',
  'duplicate-singleton': 'a second Refresh or Access document',
  'dangling-reference': 'a destination names a connection or source that is not declared',
  'privacy-consent-required': 'a connection without dataPrivacyConsent: true',
  'insecure-endpoint': 'plain http to a host that is not loopback',
  'invalid-cron': 'a cron expression or time zone that does not parse',
  'export-user-not-administrator': "a connection's exportUser is not an Access administrator",
  'actor-required': 'role checks need an identity (--as, EXPORTCTL_ACTOR, or git user.email)',
  'permission-denied': 'the acting identity may not manage this resource',
  'no-refresh-schedule': 'destinations follow the scheduled refresh, but no Refresh is declared',
  'secret-unresolved': 'a secret reference cannot be resolved now (variable unset, file unreadable)',
  'resource-in-use': 'a connection or source to delete is still used by a destination',
  'resource-failed': 'a resource could not be planned or applied',
} as const;

export type ProblemCode = keyof typeof problemCodes;

export interface SourcePosition {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/**
 * One thing wrong with the manifests, as data (never thrown): where it is, what it is, what to do.
 * `error` problems make validate/plan/apply fail; `warning` problems are printed and let them pass.
 */
export interface Problem {
  readonly code: ProblemCode;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  readonly hint?: string;
  /** Absolute path of the file (or folder) the problem is in. */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** `Kind/name` of the resource, when the document got that far. */
  readonly resource?: string;
  /** Dotted path of the field inside the document, e.g. `spec.dataMatching.email`. */
  readonly path?: string;
}

/** Orders problems by file, then position, so output is stable. */
export function compareProblems(a: Problem, b: Problem): number {
  return (
    (a.file ?? '').localeCompare(b.file ?? '') ||
    (a.line ?? 0) - (b.line ?? 0) ||
    (a.column ?? 0) - (b.column ?? 0) ||
    a.code.localeCompare(b.code)
  );
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((problem) => problem.severity === 'error');
}
