import type { DiffResult } from '@pulumi/pulumi/dynamic';
import type { ManifestKind } from '../../src/config';
import { resourceHandlers } from '../../src/resources';
import { canonicalJson } from '../../src/state/spec-hash';
import { withProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { assertOwnedByPulumi } from './pulumi-ownership';
import { desiredFromProps, type ManifestOutputs, type ManifestProps, nameFromId } from './resource-props';
import { unknownPaths } from './unknown-values';

/** The result of `diff`, with the changing fields named. */
export interface ManifestDiffResult extends DiffResult {
  readonly changes: boolean;
  /** The fields whose change forces a replacement (`spec.listId`); empty for an update. */
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
 */
export async function diffResource(
  kind: ManifestKind,
  settings: ProviderSettings,
  id: string,
  olds: Partial<ManifestOutputs>,
  news: ManifestProps,
): Promise<ManifestDiffResult> {
  const unknown = unknownPaths(news).filter((path) => !path.startsWith('__provider'));
  if (unknown.length > 0) {
    // A preview with values not known yet: some change, which only the apply can tell.
    return { changes: true, replaces: [], deleteBeforeReplace: false, diffs: unknown };
  }
  const name = news.metadata.name;
  const oldName = olds.metadata?.name ?? nameFromId(kind, id);
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
