import type { LoadedManifest } from './loaded-manifest';
import { ofKind } from './loaded-manifest';
import type { ManifestKind } from './manifest-schemas';
import type { AccessSpec } from './manifest-types.generated';
import type { Problem } from './problem';

export type Role = 'administrator' | 'contributor' | 'none';

/** The role of `actor` under `access`; emails compare case-insensitively. */
export function roleOf(access: Pick<AccessSpec, 'administrators' | 'contributors'>, actor: string): Role {
  const wanted = actor.trim().toLowerCase();
  if (access.administrators.some((email) => email.toLowerCase() === wanted)) return 'administrator';
  if ((access.contributors ?? []).some((email) => email.toLowerCase() === wanted)) return 'contributor';
  return 'none';
}

/**
 * Whether `role` may create, change or delete a resource of `kind` (DESIGN.md): administrators may
 * manage everything; contributors only export destinations, and only on a connection that is
 * `administrators-and-contributors`. Access, Refresh and ProfileSource are system-wide, so they are
 * administrators' too.
 */
export function mayManage(role: Role, kind: ManifestKind, connectionUsableBy?: string): boolean {
  if (role === 'administrator') return true;
  if (role === 'contributor')
    return kind === 'ExportDestination' && connectionUsableBy === 'administrators-and-contributors';
  return false;
}

export interface PermissionCheck {
  /** The acting identity, if one is known. */
  readonly actor: string | undefined;
  /**
   * How role problems count. `validate` touches no state, so it cannot know which resources a change
   * really touches: it reports a missing identity as a warning, and denials as errors only for an
   * identity named on purpose (`deniedSeverity`). `apply` compares with the state: all are errors.
   */
  readonly mode: 'validate' | 'apply';
  /** Severity of `permission-denied` in validate mode (default error). */
  readonly deniedSeverity?: 'error' | 'warning';
  /**
   * The Access in force: the applied one when there is state (so nobody grants themselves a role in
   * the change that needs it); otherwise the declared one.
   */
  readonly access?: Pick<AccessSpec, 'administrators' | 'contributors'> | undefined;
  /** True for resources that this change leaves as they are: they need no permission. */
  readonly unchanged?: (manifest: LoadedManifest) => boolean;
}

/**
 * The role rules of DESIGN.md for every declared resource this change would create or change.
 * Without an Access in force, role checks are off (a single-user setup).
 */
export function permissionProblems(manifests: readonly LoadedManifest[], check: PermissionCheck): Problem[] {
  const declaredAccess = ofKind(manifests, 'Access')[0];
  const access = check.access ?? declaredAccess?.manifest.spec;
  if (!access) return [];
  const changed = manifests.filter((item) => !check.unchanged?.(item));
  if (changed.length === 0) return [];
  const anchor = declaredAccess ?? changed[0];

  if (!check.actor) {
    if (!anchor) return [];
    const at = anchor.source.locate(['spec']);
    return [
      {
        code: 'actor-required',
        severity: check.mode === 'validate' ? 'warning' : 'error',
        message: `role checks need an identity: administrators are ${access.administrators.join(', ')}${
          (access.contributors ?? []).length > 0
            ? `; contributors are ${(access.contributors ?? []).join(', ')}`
            : ''
        }`,
        hint: 'name yourself with --as EMAIL or EXPORTCTL_ACTOR=EMAIL (or set git config user.email)',
        file: anchor.source.file,
        line: at.line,
        column: at.column,
        resource: anchor.id,
      },
    ];
  }

  const role = roleOf(access, check.actor);
  if (role === 'none' && anchor) {
    // One problem, not one per resource: with no role, nothing here may be applied by this identity.
    const at = anchor.source.locate(declaredAccess ? ['spec'] : ['metadata', 'name']);
    return [
      {
        code: 'permission-denied',
        severity: check.mode === 'apply' ? 'error' : (check.deniedSeverity ?? 'error'),
        message: `${check.actor} is neither an administrator nor a contributor, so may not apply ${changed.map((item) => item.id).join(', ')}`,
        hint: `act as one of the administrators (${access.administrators.join(', ')}) with --as, or ask to be added to the Access`,
        file: anchor.source.file,
        line: at.line,
        column: at.column,
        resource: anchor.id,
      },
    ];
  }
  const connections = new Map(
    ofKind(manifests, 'Connection').map((item) => [item.name, item.manifest.spec.usableBy]),
  );
  const problems: Problem[] = [];
  for (const item of changed) {
    const usableBy =
      item.kind === 'ExportDestination'
        ? connections.get((item.manifest.spec as { connection: string }).connection)
        : undefined;
    if (mayManage(role, item.kind, usableBy)) continue;
    const onConnection = item.kind === 'ExportDestination' && role === 'contributor';
    const path = onConnection ? ['spec', 'connection'] : ['metadata', 'name'];
    const at = item.source.locate(path);
    const who = `${check.actor} is a contributor`;
    const message = onConnection
      ? `${who}, and connection ${(item.manifest.spec as { connection: string }).connection} is usable by administrators only`
      : `${who}: only administrators may create, change or delete ${withArticle(item.kind)}`;
    problems.push({
      code: 'permission-denied',
      severity: check.mode === 'apply' ? 'error' : (check.deniedSeverity ?? 'error'),
      message,
      hint: onConnection
        ? 'ask an administrator to apply it, or to set usableBy: administrators-and-contributors on the connection'
        : `ask an administrator (${access.administrators.join(', ')}) to apply this change`,
      file: item.source.file,
      line: at.line,
      column: at.column,
      resource: item.id,
      path: path.join('.'),
    });
  }
  return problems;
}

function withArticle(kind: string): string {
  return /^[AEIOU]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}
