import type { DiffResult } from '@pulumi/pulumi/dynamic';
import { isSecretReference, type ManifestKind } from '../../src/config';
import { resourceHandlers } from '../../src/resources';
import { canonicalJson } from '../../src/state/spec-hash';
import { withProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { assertOwnedByPulumi } from './pulumi-ownership';
import { desiredFromProps, type ManifestOutputs, type ManifestProps, nameFromId } from './resource-props';
import { isPathUnder, unknownPaths, unknownReaches } from './unknown-values';

/** The result of `diff`, with the changing fields named. */
export interface ManifestDiffResult extends DiffResult {
  readonly changes: boolean;
  /**
   * The fields whose change forces a replacement (`spec.listId`), or the unknown paths that may
   * hold one (`spec`); empty for an update.
   */
  readonly replaces: string[];
  readonly deleteBeforeReplace: boolean;
  /**
   * Every field that changes, as a dotted path (`spec.segments`, `spec.auth.clientSecret` when a
   * secret's value changed: its path, never its value). The dynamic-provider host of
   * @pulumi/pulumi 3.248 forwards only changes, replaces and deleteBeforeReplace to the engine,
   * which then shows its own diff of the inputs; `diffs` is for direct callers and tests.
   */
  readonly diffs: string[];
}

/**
 * `diff`: the handler's diff of the applied resource (the exportctl state) against the new inputs,
 * the same comparison `exportctl plan` makes. A field that changes the remote identity
 * (a destination's list or connection, a connection's API endpoint or client ID) is a replacement,
 * and always delete-before-replace: the state keys resources by kind and name, so the replacement
 * and the old resource are the same entry, and creating first would be undone by the delete. A
 * new `metadata.name` is a different entry: replaced, new one first. Reads the state, writes nothing.
 * A resource this stack (input `stack`) may claim, one written before stacks were recorded, shows
 * the change `stack`: the update claims it. Throws `OwnershipError` (`owned-by-other`) when exportctl
 * or another stack owns the resource, and
 * `SecretResolutionError` (`secret-unresolved`) when a connection's secret reference cannot be read.
 *
 * With values not known yet (a preview whose inputs come from other resources' outputs, or the
 * engine asking whether a dependent of a replaced resource must be replaced too, its properties
 * that depend on it set unknown): {@link diffWithUnknowns}, from the inputs alone; the state is
 * not read and nothing is thrown.
 */
export async function diffResource(
  kind: ManifestKind,
  settings: ProviderSettings,
  id: string,
  olds: Partial<ManifestOutputs>,
  news: ManifestProps,
): Promise<ManifestDiffResult> {
  const unknown = unknownPaths(news).filter((path) => !isPathUnder(path, '__provider'));
  const oldName = olds.metadata?.name ?? nameFromId(kind, id);
  if (unknown.length > 0) return diffWithUnknowns(kind, oldName, olds, news, unknown);
  const name = news.metadata.name;
  if (oldName !== name) {
    return {
      changes: true,
      replaces: ['metadata.name'],
      deleteBeforeReplace: false,
      diffs: ['metadata.name'],
    };
  }
  const metadataChanges = (['labels', 'annotations'] as const)
    .filter((key) => canonicalJson(olds.metadata?.[key] ?? {}) !== canonicalJson(news.metadata[key] ?? {}))
    .map((key) => `metadata.${key}`);

  return withProviderSession(settings, { secretEnv: news.secretEnv }, async ({ store, context }) => {
    const applied = await store.resources.get(kind, name);
    // A legacy `pulumi` resource is a one-time update (`stack`) that claims it for this stack.
    const claim = assertOwnedByPulumi(applied, kind, name, news.stack, 'diff') === 'claim' ? ['stack'] : [];
    const diff = await resourceHandlers[kind].diff(
      applied,
      desiredFromProps(kind, news, settings.root),
      context,
    );
    const diffs = [...new Set([...metadataChanges, ...claim, ...diff.fields.map((field) => field.path)])];
    // Gone from the state (deleted behind Pulumi's back): the update creates it again.
    const replaces = applied
      ? [...new Set(diff.fields.filter((field) => field.forcesReplacement).map((field) => field.path))]
      : [];
    return {
      changes: diffs.length > 0 || !applied,
      replaces,
      deleteBeforeReplace: replaces.length > 0,
      diffs,
    };
  });
}

/**
 * The diff of inputs with values not known yet, from the inputs alone. Every unknown path is a
 * change. An unknown path that reaches a field whose change forces a replacement (the kind's
 * handler's `replaceOn`; a whole unknown `spec` reaches them all; an unknown `secretEnv` value
 * reaches the fields whose `{env}` reference names it) is a replacement,
 * delete-before-replace, named by that path; so is a known such field that differs from the
 * applied outputs. An unknown or changed `metadata.name` is a replacement, new one first unless a
 * field forces delete-before-replace. Anything else (`spec.segments` unknown) is an update.
 *
 * This is the answer the Pulumi engine acts on when it replaces a resource delete-before-replace:
 * for each dependent it calls `diff` with the old inputs, every top-level property that has a
 * property dependency on the replaced resource set unknown, and replaces (deleting first, in
 * reverse dependency order) the dependents whose answer has `replaces`.
 */
export function diffWithUnknowns(
  kind: ManifestKind,
  oldName: string,
  olds: Partial<ManifestOutputs>,
  news: ManifestProps,
  unknown: readonly string[],
): ManifestDiffResult {
  const replaceOn = resourceHandlers[kind].replaceOn ?? [];
  const references = envReferences(news.spec);
  // An unknown `secretEnv` value is the value of each `{env}` reference that names it.
  const fedFields = (path: string) =>
    references.filter((reference) => unknownReaches(path, `secretEnv.${reference.env}`)).map((r) => r.path);
  const reaching = unknown.filter((path) =>
    [path, ...fedFields(path)].some((reached) => replaceOn.some((field) => unknownReaches(reached, field))),
  );
  const knownChanges = replaceOn.filter(
    (field) =>
      !unknown.some((path) => unknownReaches(path, field)) &&
      knownValueChanged(valueAt(olds, field), valueAt(news, field)),
  );
  const renamed = unknown.some((path) => unknownReaches(path, 'metadata.name'))
    ? unknown.filter((path) => unknownReaches(path, 'metadata.name'))
    : news.metadata?.name !== undefined && news.metadata.name !== oldName
      ? ['metadata.name']
      : [];
  const replaces = [...new Set([...reaching, ...knownChanges, ...renamed])];
  return {
    changes: true,
    replaces,
    deleteBeforeReplace: reaching.length + knownChanges.length > 0,
    diffs: [...new Set([...unknown, ...knownChanges, ...renamed])],
  };
}

/** A known field changed: both sides present and different (absent in the news: a default). */
function knownValueChanged(before: unknown, after: unknown): boolean {
  if (before === undefined || after === undefined) return false;
  return canonicalJson(before) !== canonicalJson(after);
}

/** The value at a dotted path (`spec.auth.clientId`), undefined when a step is missing. */
function valueAt(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (inside, key) =>
        inside !== null && typeof inside === 'object' ? (inside as Record<string, unknown>)[key] : undefined,
      value,
    );
}

/** The `{env: NAME}` secret references in a spec, with their paths (`spec.auth.clientId`). */
function envReferences(value: unknown, path = 'spec'): { path: string; env: string }[] {
  if (isSecretReference(value)) return typeof value.env === 'string' ? [{ path, env: value.env }] : [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => envReferences(item, `${path}.${key}`));
}
