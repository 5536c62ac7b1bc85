import type { LoadedManifest, Manifest, ManifestKind } from '../config';
import { ExportctlError } from '../errors';
import type { AppliedResource, ConditionUpdate, ResourceOwner, StateStore } from '../state';
import type { JsonObject } from '../state/spec-hash';
import { failureReason } from './failure-reason';
import type { FieldChange } from './field-changes';
import type { ConstantContactAccess, SourceInspector } from './remote-services';

/**
 * What a handler may use. Handlers never print, prompt or read CLI flags: the reconciler and the
 * Pulumi provider call the same handlers.
 */
export interface HandlerContext {
  readonly store: StateStore;
  /** Who is writing: resources are created with this owner, and only its own are changed. */
  readonly owner: ResourceOwner;
  /** Where secret references `{env}` are read. */
  readonly env: NodeJS.ProcessEnv;
  readonly constantContact: ConstantContactAccess;
  readonly sources: SourceInspector;
  /**
   * Set for a pass that writes nothing (a plan's drift refresh): the state reads it makes, by key,
   * each made once (see {@link readOnce}). Unset: every read goes to the state.
   */
  readonly readOnce?: Map<string, Promise<unknown>>;
}

/**
 * `read()`, once per `key` in a read-only pass (`context.readOnce`), every time otherwise. Why: a
 * plan's refresh of 1,000 destinations of one connection and one source read the same connection,
 * secrets and source 1,000 times: free on SQLite, a round trip each on a PostgreSQL state.
 */
export function readOnce<T>(context: HandlerContext, key: string, read: () => Promise<T>): Promise<T> {
  const memo = context.readOnce;
  if (memo === undefined) return read();
  let made = memo.get(key) as Promise<T> | undefined;
  if (made === undefined) {
    made = read();
    memo.set(key, made);
  }
  return made;
}

/** A declared resource, as a handler needs it: the manifest (defaults filled) and its file. */
export interface DesiredResource<M extends Manifest = Manifest> {
  readonly manifest: M;
  /** The manifest file: relative paths and `{file}` secrets are relative to its folder. */
  readonly file: string;
}

export function desiredFrom<M extends Manifest>(loaded: LoadedManifest<M>): DesiredResource<M> {
  return { manifest: loaded.manifest, file: loaded.source.file };
}

/** What a diff found: nothing, an in-place update, or a replacement (the remote identity changed). */
export interface ResourceDiff {
  readonly action: 'none' | 'update' | 'replace';
  readonly fields: readonly FieldChange[];
}

/** What reading the remote side found (drift detection). */
export interface ObservedStatus {
  readonly ready: boolean;
  /** CamelCase: `Verified`, `ListNotFound`, `CredentialsRejected`, `Unreachable`, ... */
  readonly reason: string;
  readonly message: string;
  /** When not ready: the stable code of the error behind it (`list-not-found`, `invalid-client`). */
  readonly code?: string;
  /** When not ready: what to do about it. */
  readonly hint?: string;
  /** Remote facts to record (a list's name and size), when read. */
  readonly facts?: JsonObject;
}

/**
 * The one CRUD core per kind (DESIGN.md): `exportctl apply` and the Pulumi provider both call it.
 * Contract of create/update: if the call throws, nothing of the resource was stored.
 */
export interface ResourceHandler<M extends Manifest = Manifest> {
  readonly kind: M['kind'] & ManifestKind;
  /**
   * The fields (dotted paths, exact or prefixes: `spec.listId`) whose change replaces the resource
   * instead of updating it: its `diff` marks exactly these `forcesReplacement`. Absent: none. The
   * Pulumi provider reads it to tell which values not known yet (a preview) may force a replacement.
   */
  readonly replaceOn?: readonly string[];
  /** The spec as the state keeps it: secret references (never values), file paths as written. */
  storedSpec(desired: DesiredResource<M>): JsonObject;
  /**
   * Facts an apply records with the resource that are not part of its spec (never diffed): a
   * ProfileSource's folder, which its relative paths start from. Absent: none.
   */
  storedFacts?(desired: DesiredResource<M>): JsonObject;
  /** Named field changes from applied to desired, including `(sensitive)` secret value changes. */
  diff(
    applied: AppliedResource | undefined,
    desired: DesiredResource<M>,
    context: HandlerContext,
  ): Promise<ResourceDiff>;
  /**
   * Checks the remote side as `create` and `update` do, storing nothing, so that a caller can verify
   * before it takes the control-plane lock and hold the lock only to store. `create`/`update`
   * verify again (against the state as it is then); given the same context, they answer from what
   * this call read when nothing it depends on changed, so the lock is not held across a rate-limited
   * request. Absent for a kind whose check writes to the state (a Connection stores the tokens it
   * obtains) or reads nothing remote. Throws as `create` does; `exportctl apply` does not use it.
   */
  verify?(desired: DesiredResource<M>, context: HandlerContext): Promise<void>;
  /** Verifies the remote side, then stores the resource (Ready). */
  create(desired: DesiredResource<M>, context: HandlerContext): Promise<AppliedResource>;
  /** Verifies what changed, then stores the new spec (Ready). */
  update(
    applied: AppliedResource,
    desired: DesiredResource<M>,
    context: HandlerContext,
  ): Promise<AppliedResource>;
  /**
   * Replaces a resource whose remote identity changed. Default (when absent): `delete`, then
   * `create`. A handler that can verify first provides its own, so a failed check keeps the old one.
   */
  replace?(
    applied: AppliedResource,
    desired: DesiredResource<M>,
    context: HandlerContext,
  ): Promise<AppliedResource>;
  /** Removes the resource and what belongs to it (secrets, tokens) from the state. */
  delete(applied: AppliedResource, context: HandlerContext): Promise<void>;
  /** Re-reads the remote side of an applied resource; never throws for a remote problem. */
  read(applied: AppliedResource, context: HandlerContext): Promise<ObservedStatus>;
}

/** The Ready condition (and a cleared Stalled) for a resource that was just verified. */
export function readyConditions(message: string): ConditionUpdate[] {
  return [
    { type: 'Ready', status: true, reason: 'Verified', message },
    { type: 'Stalled', status: false, reason: 'Verified', message: 'no problem found' },
    { type: 'Reconciling', status: false, reason: 'Applied', message: 'the declared spec is applied' },
  ];
}

/** The conditions for a resource whose remote side is broken. */
export function stalledConditions(reason: string, message: string): ConditionUpdate[] {
  return [
    { type: 'Ready', status: false, reason, message },
    { type: 'Stalled', status: true, reason, message },
  ];
}

export function toDiff(applied: AppliedResource | undefined, fields: readonly FieldChange[]): ResourceDiff {
  if (fields.length === 0) return { action: 'none', fields };
  return {
    action: applied && fields.some((field) => field.forcesReplacement) ? 'replace' : 'update',
    fields,
  };
}

/** A failed remote check as a status (reason: `failureReason`), with the error's code and hint. */
export function observedFailure(error: unknown): ObservedStatus {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof ExportctlError)) return { ready: false, reason: failureReason(error), message };
  return {
    ready: false,
    reason: failureReason(error),
    message,
    code: error.code,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
  };
}

/**
 * Stores a verified resource as Ready: its spec (owned by the context's owner), its remote facts
 * when it has some, the Ready conditions; resolves with it as stored.
 */
export async function storeReady(
  context: HandlerContext,
  resource: { readonly kind: ManifestKind; readonly name: string; readonly spec: JsonObject },
  message: string,
  facts?: JsonObject,
): Promise<AppliedResource> {
  const { kind, name } = resource;
  await context.store.resources.put({ ...resource, owner: context.owner });
  if (facts !== undefined) await context.store.resources.setRemoteFacts(kind, name, facts);
  await context.store.resources.setConditions(kind, name, readyConditions(message));
  const applied = await context.store.resources.get(kind, name);
  if (!applied) throw new Error(`${kind}/${name} vanished right after it was stored`);
  return applied;
}

/**
 * Records what a remote check observed: Ready or Stalled conditions, and the facts read. Best
 * effort: a failed status write must not fail the apply or refresh that made the observation.
 */
export async function recordObservation(
  store: StateStore,
  kind: ManifestKind,
  name: string,
  observed: ObservedStatus,
): Promise<void> {
  const conditions = observed.ready
    ? readyConditions(observed.message)
    : stalledConditions(observed.reason, observed.message);
  await store.resources.setConditions(kind, name, conditions).catch(() => undefined);
  if (observed.facts) await store.resources.setRemoteFacts(kind, name, observed.facts).catch(() => undefined);
}
