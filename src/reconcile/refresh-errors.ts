import type { DriftFinding, PlannedChange, RefreshError } from './plan';

/** What to do when a finding's check gave no hint of its own. */
const defaultHints: Readonly<Record<string, string>> = {
  CredentialsRejected:
    're-authorise the connection, store the new secrets where its manifest points, and apply',
  Unreachable: "check the connection's spec.endpoints and the network, then plan again",
  DependencyNotApplied: 'apply what it uses first',
};

/**
 * The fields whose change can cure a finding of this reason, when the plan updates the resource: an
 * update re-verifies it, but with the same list, secrets or files it would fail the same way. A
 * reason not listed here is cured by any update.
 */
const curingFields: Readonly<Record<string, readonly string[]>> = {
  ListNotFound: ['spec.listId', 'spec.connection'],
  CredentialsRejected: ['spec.auth', 'spec.endpoints'],
  Unreachable: ['spec.endpoints'],
  SourceUnreadable: [
    'spec.source',
    'spec.dataMatching',
    'spec.profiles',
    'spec.segmentMembership',
    'spec.database',
    'spec.type',
    'spec.key',
  ],
};

/** Whether applying `change` can cure `finding` (of the same resource). */
function cures(change: PlannedChange, finding: DriftFinding): boolean {
  if (change.action === 'delete' || change.action === 'replace' || change.action === 'create') return true;
  const fields = curingFields[finding.reason];
  if (!fields) return true;
  return change.fields.some((field) =>
    fields.some((path) => field.path === path || field.path.startsWith(`${path}.`)),
  );
}

/**
 * Which drift findings fail the plan. A finding the plan's own change of that resource can cure is
 * what the apply fixes, since the change verifies the remote side again: a destination pointed at
 * another list, a connection given new secrets or endpoints, a source given other files. Every other
 * finding is a refresh error: the plan leaves it as it is (an update of a destination's segments
 * does not bring its deleted list back). A finding that only repeats its cause's (a destination not
 * read because its connection failed) is listed under that cause as a dependent, and is no error
 * when the plan cures the cause.
 */
export function refreshErrors(
  drift: readonly DriftFinding[],
  changes: readonly PlannedChange[],
): RefreshError[] {
  const changeOf = new Map(changes.map((change) => [change.id, change]));
  const errors: RefreshError[] = [];
  for (const finding of drift) {
    const change = changeOf.get(finding.id);
    if (finding.cause !== undefined || (change && cures(change, finding))) continue;
    errors.push({
      id: finding.id,
      kind: finding.kind,
      name: finding.name,
      reason: finding.reason,
      message: finding.message,
      ...(finding.code === undefined ? {} : { code: finding.code }),
      hint: finding.hint ?? defaultHints[finding.reason] ?? 'fix the cause named, then plan again',
      dependents: drift.filter((other) => other.cause === finding.id).map((other) => other.id),
    });
  }
  return errors;
}
