import {
  type AccessSpec,
  type LoadedManifest,
  type ManifestKind,
  manifestKinds,
  mayManage,
  type Problem,
  permissionProblems,
  roleOf,
  SecretResolutionError,
} from '../config';
import { ExportctlError } from '../errors';
import {
  type DesiredResource,
  desiredFrom,
  type HandlerContext,
  type ObservedStatus,
  resourceHandlers,
} from '../resources';
import type { AppliedResource } from '../state';
import type { DriftFinding, Plan, PlannedChange, SkippedResource } from './plan';
import { dependenciesOf, type Observation, type PlanStep } from './plan-steps';
import { refreshErrors } from './refresh-errors';

export interface PlanRequest {
  /** The declared resources (already validated). */
  readonly manifests: readonly LoadedManifest[];
  /** `apply`: make the state match PATH; `destroy`: delete what PATH declares. */
  readonly mode: 'apply' | 'destroy';
  /** Delete exportctl's resources that PATH does not declare. */
  readonly prune: boolean;
  /** Re-read remote facts (list exists, credentials work) to report drift. */
  readonly refresh: boolean;
  /** The acting identity, for role checks. */
  readonly actor: string | undefined;
  /** Folder paths are shown relative to. */
  readonly cwd: string;
}

export interface ComputedPlan {
  readonly plan: Plan;
  /** In execution order: deletes (destinations first), then creates, updates and replacements. */
  readonly steps: readonly PlanStep[];
  readonly observations: readonly Observation[];
  /** Errors make the plan unusable: role denials, a connection still in use, unresolvable secrets. */
  readonly problems: readonly Problem[];
}

const idOf = (kind: string, name: string) => `${kind}/${name}`;

/**
 * Desired (manifests) versus applied (state), as ordered steps. Never changes the state. Resources
 * owned by another owner are skipped, never planned; deletes of a connection or source that a
 * remaining destination still uses are refused; role rules apply to what actually changes.
 */
export async function computePlan(request: PlanRequest, context: HandlerContext): Promise<ComputedPlan> {
  const applied = await context.store.resources.list();
  const appliedById = new Map(applied.map((item) => [idOf(item.kind, item.name), item]));
  const declaredIds = new Set(request.manifests.map((item) => item.id));
  const problems: Problem[] = [];
  const skipped: SkippedResource[] = [];
  const upserts: PlanStep[] = [];
  const deletes: PlanStep[] = [];

  const declaredAt = (item: LoadedManifest) => {
    const at = item.source.locate([]);
    const file = item.source.file.startsWith(`${request.cwd}/`)
      ? item.source.file.slice(request.cwd.length + 1)
      : item.source.file;
    return `${file}:${at.line}`;
  };

  for (const kind of manifestKinds) {
    for (const item of request.manifests.filter((manifest) => manifest.kind === kind)) {
      const current = appliedById.get(item.id);
      if (current && current.owner !== context.owner) {
        skipped.push({
          id: item.id,
          reason: `owned by ${current.owner}; exportctl ${context.owner === 'exportctl' ? 'apply' : ''} leaves it alone`,
        });
        continue;
      }
      if (request.mode === 'destroy') {
        if (current) deletes.push(deleteStep(current, declaredAt(item)));
        continue;
      }
      const desired = desiredFrom(item);
      try {
        const diff = await resourceHandlers[kind].diff(current, desired, context);
        if (!current) {
          upserts.push({ change: change('create', item, diff.fields, declaredAt(item)), desired });
        } else if (diff.action !== 'none') {
          upserts.push({
            change: change(diff.action, item, diff.fields, declaredAt(item)),
            desired,
            applied: current,
          });
        }
      } catch (error) {
        problems.push(problemFrom(error, item));
      }
    }
  }

  const notDeclared: string[] = [];
  if (request.mode === 'apply') {
    for (const item of applied) {
      const id = idOf(item.kind, item.name);
      if (declaredIds.has(id) || item.owner !== context.owner) continue;
      if (request.prune) deletes.push(deleteStep(item));
      else notDeclared.push(id);
    }
  }
  // Destinations first, connections and sources after (the reverse of the creation order).
  deletes.sort((a, b) => manifestKinds.indexOf(b.change.kind) - manifestKinds.indexOf(a.change.kind));

  problems.push(...inUseProblems(deletes, applied, request.manifests));
  problems.push(...(await rolesProblems(request, upserts, deletes, context)));

  const deleted = new Set(deletes.map((step) => step.change.id));
  const { drift, observations } = request.refresh
    ? await observeDrift(applied, context, deleted)
    : { drift: [], observations: [] };
  const steps = [...deletes, ...upserts];
  const changes = steps.map((step) => step.change);
  return {
    plan: {
      changes,
      drift,
      refreshErrors: refreshErrors(drift, changes),
      notDeclared,
      skipped,
    },
    steps,
    observations,
    problems,
  };
}

function change(
  action: PlannedChange['action'],
  item: LoadedManifest,
  fields: PlannedChange['fields'],
  at: string,
): PlannedChange {
  return { action, kind: item.kind, name: item.name, id: item.id, fields, declaredAt: at };
}

function deleteStep(item: AppliedResource, at?: string): PlanStep {
  return {
    change: {
      action: 'delete',
      kind: item.kind,
      name: item.name,
      id: idOf(item.kind, item.name),
      fields: [],
      ...(at ? { declaredAt: at } : {}),
    },
    applied: item,
  };
}

/** DESIGN.md: a connection (or source) may be deleted only if no remaining destination uses it. */
function inUseProblems(
  deletes: readonly PlanStep[],
  applied: readonly AppliedResource[],
  manifests: readonly LoadedManifest[],
): Problem[] {
  const deleted = new Set(deletes.map((step) => step.change.id));
  const declared = new Map(manifests.map((item) => [item.id, item]));
  // What uses what after this change: declared destinations as declared, kept ones as applied.
  const users: { id: string; kind: ManifestKind; spec: unknown }[] = [];
  for (const item of manifests)
    if (!deleted.has(item.id)) users.push({ id: item.id, kind: item.kind, spec: item.manifest.spec });
  for (const item of applied) {
    const id = idOf(item.kind, item.name);
    if (!deleted.has(id) && !declared.has(id)) users.push({ id, kind: item.kind, spec: item.spec });
  }
  const problems: Problem[] = [];
  for (const step of deletes) {
    const { kind, name, id } = step.change;
    if (kind !== 'Connection' && kind !== 'ProfileSource') continue;
    const using = users.filter((user) =>
      dependenciesOf(user.kind, user.spec).some(
        (dependency) => dependency.kind === kind && dependency.name === name,
      ),
    );
    if (using.length > 0) {
      problems.push({
        code: 'resource-in-use',
        severity: 'error',
        message: `${id} cannot be deleted: ${using.map((user) => user.id).join(', ')} still use${using.length === 1 ? 's' : ''} it`,
        hint: 'delete those destinations in the same apply (or point them elsewhere) first',
        resource: id,
      });
    }
  }
  return problems;
}

async function rolesProblems(
  request: PlanRequest,
  upserts: readonly PlanStep[],
  deletes: readonly PlanStep[],
  context: HandlerContext,
): Promise<Problem[]> {
  // The Access in force is the applied one: nobody grants themselves a role in the change that needs it.
  const appliedAccess = (await context.store.resources.list({ kind: 'Access' }))[0]?.spec as
    | AccessSpec
    | undefined;
  const changedIds = new Set(upserts.map((step) => step.change.id));
  const problems = permissionProblems(request.manifests, {
    actor: request.actor,
    mode: 'apply',
    access: appliedAccess,
    unchanged: (item) => !changedIds.has(item.id),
  });
  const access =
    appliedAccess ??
    (request.manifests.find((item) => item.kind === 'Access')?.manifest.spec as AccessSpec | undefined);
  if (!access || deletes.length === 0) return problems;
  if (!request.actor) {
    if (!problems.some((problem) => problem.code === 'actor-required')) {
      problems.push({
        code: 'actor-required',
        severity: 'error',
        message: `deleting ${deletes.map((step) => step.change.id).join(', ')} needs an identity for the role checks`,
        hint: 'name yourself with --as EMAIL or EXPORTCTL_ACTOR=EMAIL (or set git config user.email)',
      });
    }
    return problems;
  }
  const role = roleOf(access, request.actor);
  const connections = new Map(
    (await context.store.resources.list({ kind: 'Connection' })).map((item) => [
      item.name,
      String(item.spec.usableBy ?? 'administrators'),
    ]),
  );
  for (const step of deletes) {
    const usableBy =
      step.change.kind === 'ExportDestination'
        ? connections.get(String(step.applied?.spec.connection))
        : undefined;
    if (mayManage(role, step.change.kind, usableBy)) continue;
    problems.push({
      code: 'permission-denied',
      severity: 'error',
      message: `${request.actor} may not delete ${step.change.id} (${role === 'none' ? 'no role' : 'a contributor'})`,
      hint: `ask an administrator (${access.administrators.join(', ')}) to apply this change`,
      resource: step.change.id,
    });
  }
  return problems;
}

/**
 * Re-reads the remote side of applied resources (drift), without writing anything: credentials,
 * lists, sources. `skip` names resources not to read (those a plan deletes). A destination whose
 * connection failed its check is not read (every call would fail the same way, each after its own
 * retries): it is Stalled for the connection's reason, and its finding names the connection as its
 * `cause`. Record the result with `applyPlan([], observations, context)`.
 */
export async function observeDrift(
  applied: readonly AppliedResource[],
  context: HandlerContext,
  skip: ReadonlySet<string> = new Set(),
): Promise<{ drift: DriftFinding[]; observations: Observation[] }> {
  const deleted = skip;
  // Nothing is written during the refresh: each connection and source is read from the state once.
  const reading: HandlerContext = { ...context, readOnce: new Map() };
  const drift: DriftFinding[] = [];
  const observations: Observation[] = [];
  const failed = new Map<string, ObservedStatus>();
  for (const kind of manifestKinds) {
    for (const item of applied.filter((resource) => resource.kind === kind)) {
      const id = idOf(item.kind, item.name);
      if (deleted.has(id)) continue;
      const cause = dependenciesOf(kind, item.spec)
        .map((dependency) => idOf(dependency.kind, dependency.name))
        .find((dependency) => dependency.startsWith('Connection/') && failed.has(dependency));
      const causeStatus = cause === undefined ? undefined : failed.get(cause);
      const status: ObservedStatus = causeStatus
        ? {
            ready: false,
            reason: causeStatus.reason,
            message: `not checked: ${cause} is Stalled (${causeStatus.reason})`,
            ...(causeStatus.code === undefined ? {} : { code: causeStatus.code }),
          }
        : await resourceHandlers[kind].read(item, reading);
      observations.push({ kind, name: item.name, status });
      if (status.ready) continue;
      failed.set(id, status);
      drift.push({
        id,
        kind,
        name: item.name,
        condition: 'Stalled',
        reason: status.reason,
        message: status.message,
        ...(status.code === undefined ? {} : { code: status.code }),
        ...(status.hint === undefined ? {} : { hint: status.hint }),
        ...(cause === undefined ? {} : { cause }),
      });
    }
  }
  return { drift, observations };
}

function problemFrom(error: unknown, item: LoadedManifest): Problem {
  // A secret reference that cannot be resolved is placed at the reference, not the document.
  const field = error instanceof SecretResolutionError ? error.context.path : undefined;
  const at = item.source.locate(typeof field === 'string' ? field.split('.') : []);
  if (error instanceof ExportctlError) {
    return {
      code: error.code === 'secret-unresolved' ? 'secret-unresolved' : 'resource-failed',
      severity: 'error',
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
      file: item.source.file,
      line: at.line,
      column: at.column,
      resource: item.id,
    };
  }
  throw error;
}

export type { DesiredResource };
