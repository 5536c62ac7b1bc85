import * as pulumi from '@pulumi/pulumi';
import {
  type ConnectionAuth,
  hasErrors,
  isSecretReference,
  type LoadedManifest,
  loadManifests,
  type ManifestKind,
  manifestKinds,
  type Problem,
} from '../../src/config';
import { formatProblemText } from '../../src/config/format-problems';
import { Access } from '../resources/access';
import { Connection } from '../resources/connection';
import { ExportDestination } from '../resources/export-destination';
import type { ManifestResource, ManifestResourceArgs } from '../resources/manifest-resource';
import { ProfileSource } from '../resources/profile-source';
import { Refresh } from '../resources/refresh';
import { ManifestsInvalidError } from './manifests-invalid-error';
import type { StackSettings } from './stack-settings';

/** Any of the five resource classes. */
export type AnyManifestResource = ManifestResource<ManifestKind, unknown>;

/** What {@link declareManifests} declared. */
export interface DeclaredManifests {
  /** One resource per manifest, keyed `Kind/name`, in creation order. */
  readonly resources: ReadonlyMap<string, AnyManifestResource>;
  /** The validation's warnings (already logged through Pulumi). */
  readonly warnings: readonly Problem[];
}

/**
 * Loads the manifests under `settings.manifests`, validates them exactly as `exportctl validate`
 * does (schema, references, permissions for `settings.actor`: denials are errors for an identity
 * named in `exportctl:actor` or EXPORTCTL_ACTOR, warnings for one inferred from git), and declares
 * one resource per document, named as the manifest; a destination's `spec.connection` and
 * `spec.source` are the `metadata.name` outputs of its connection and source, so it depends on them
 * through `spec` (replacing its connection replaces it). Throws `ManifestsInvalidError` before
 * declaring anything if there is an error.
 */
export function declareManifests(
  settings: StackSettings,
  opts: pulumi.CustomResourceOptions = {},
): DeclaredManifests {
  const deniedSeverity =
    settings.actor.source === 'flag' || settings.actor.source === 'env' ? 'error' : 'warning';
  const loaded = loadManifests([settings.manifests], {
    cwd: settings.root,
    actor: settings.actor.identity,
    mode: 'validate',
    deniedSeverity,
  });
  if (hasErrors(loaded.problems)) throw new ManifestsInvalidError(loaded.problems, settings.root);
  for (const warning of loaded.problems) pulumi.log.warn(formatProblemText(warning, settings.root));

  const resources = new Map<string, AnyManifestResource>();
  const byId = (kind: ManifestKind, name: string) => {
    const resource = resources.get(`${kind}/${name}`);
    // Validation proved every reference resolves.
    if (!resource) throw new Error(`${kind}/${name} is referenced but was not declared`);
    return resource;
  };
  for (const kind of manifestKinds) {
    for (const item of loaded.manifests.filter((manifest) => manifest.kind === kind)) {
      const args = writtenArgs(item);
      let resource: AnyManifestResource;
      switch (item.manifest.kind) {
        case 'Access':
          resource = new Access(item.name, args as ManifestResourceArgs<never>, opts);
          break;
        case 'Refresh':
          resource = new Refresh(item.name, args as ManifestResourceArgs<never>, opts);
          break;
        case 'ProfileSource':
          resource = new ProfileSource(item.name, args as ManifestResourceArgs<never>, opts);
          break;
        case 'Connection': {
          const secretEnv = secretEnvFor(item.manifest.spec.auth, settings.secretEnv);
          resource = new Connection(
            item.name,
            { ...(args as ManifestResourceArgs<never>), ...(secretEnv ? { secretEnv } : {}) },
            opts,
          );
          break;
        }
        case 'ExportDestination': {
          // The names as outputs of the resources, not strings: the registration then has a property
          // dependency of `spec` on each, and the engine, replacing the connection delete-before-
          // replace, asks this destination's diff with `spec` unknown, replaces it (a change of
          // connection forces that) and deletes it first. With `dependsOn` alone the engine would
          // delete the connection under it, which the provider refuses (`resource-in-use`).
          const { spec } = item.manifest;
          resource = new ExportDestination(
            item.name,
            {
              ...(args as ManifestResourceArgs<never>),
              spec: {
                ...(args.spec as object),
                connection: byId('Connection', spec.connection).metadata.name,
                source: byId('ProfileSource', spec.source).metadata.name,
              } as ManifestResourceArgs<never>['spec'],
            },
            opts,
          );
          break;
        }
      }
      resources.set(item.id, resource);
    }
  }
  return { resources, warnings: loaded.problems };
}

/** The manifest as written (defaults are the provider's check to fill), and where it is. */
function writtenArgs(item: LoadedManifest): ManifestResourceArgs<unknown> {
  const written = item.source.data as { metadata?: ManifestResourceArgs<unknown>['metadata']; spec: unknown };
  return {
    ...(written.metadata === undefined ? {} : { metadata: written.metadata }),
    spec: written.spec as ManifestResourceArgs<unknown>['spec'],
    manifestFile: item.source.file,
  };
}

/** The stack config values of the variables this connection's `{env}` references name. */
function secretEnvFor(
  auth: ConnectionAuth,
  secretEnv: pulumi.Output<Record<string, string>> | undefined,
): pulumi.Output<Record<string, string>> | undefined {
  if (!secretEnv) return undefined;
  const names = [auth.clientId, auth.clientSecret, auth.refreshToken].flatMap((reference) =>
    isSecretReference(reference) && reference.env !== undefined ? [reference.env] : [],
  );
  if (names.length === 0) return undefined;
  // Still a secret: apply keeps the secretness of what it is applied to.
  return secretEnv.apply((all) =>
    Object.fromEntries(
      names.filter((name) => typeof all[name] === 'string').map((name) => [name, all[name]]),
    ),
  ) as pulumi.Output<Record<string, string>>;
}
