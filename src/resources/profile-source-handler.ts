import { dirname, isAbsolute, resolve } from 'node:path';
import type { ProfileSource, ProfileSourceSpec } from '../config';
import {
  locatedSourceSpec,
  mapSourcePaths,
  recordedSourceFolder,
  sourceFolderFact,
  withPostgresUrl,
} from '../profiles';
import type { AppliedResource } from '../state';
import type { JsonObject } from '../state/spec-hash';
import { fieldChanges } from './field-changes';
import {
  resolveSourceDatabaseUrl,
  storedSourceUrlFingerprint,
  storeSourceDatabaseUrl,
  withStoredSourceSecrets,
} from './profile-source-secrets';
import { ResourceVerificationError } from './resource-errors';
import {
  type DesiredResource,
  type HandlerContext,
  observedFailure,
  type ResourceHandler,
  storeReady,
  toDiff,
} from './resource-handler';

/**
 * Profile sources: no remote side, but their files or tables must exist and have the key column.
 * The state keeps file paths as written (relative to the manifest), so the same manifests in another
 * checkout or folder plan no change; the folder the apply found the files in is kept as the
 * source's `folder` fact, which a run (it has no manifest) reads the files from (`appliedSourceSpec`).
 */
export const profileSourceHandler: ResourceHandler<ProfileSource> = {
  kind: 'ProfileSource',

  storedSpec(desired) {
    return desired.manifest.spec as unknown as JsonObject;
  },

  storedFacts(desired) {
    return { [sourceFolderFact]: dirname(desired.file) };
  },

  async diff(applied, desired, context) {
    const before =
      applied === undefined ? undefined : (asWritten(applied.spec, desired) as unknown as JsonObject);
    const fields = fieldChanges(before, this.storedSpec(desired), {}, 'spec');
    // The URL behind a database reference: compared by fingerprint, shown as a sensitive change.
    const url = resolveSourceDatabaseUrl(desired, context.env);
    if (url !== undefined) {
      const stored = applied
        ? await storedSourceUrlFingerprint(context.store.secrets, applied.name)
        : undefined;
      if (stored !== (await context.store.secrets.fingerprint(url)))
        fields.push({
          path: 'spec.database.url',
          ...(stored === undefined ? {} : { before: '(stored)' }),
          after: '(new value)',
          sensitive: true,
          forcesReplacement: false,
        });
    }
    return toDiff(applied, fields);
  },

  async create(desired, context) {
    return store(desired, context);
  },

  async update(_applied, desired, context) {
    return store(desired, context);
  },

  async delete(applied, context) {
    await context.store.resources.delete('ProfileSource', applied.name, context.owner);
    await storeSourceDatabaseUrl(context.store.secrets, applied.name, undefined);
  },

  async read(applied, context) {
    try {
      const spec = await withStoredSourceSecrets(
        context.store.secrets,
        applied.name,
        appliedSourceSpec(applied),
      );
      const problems = await context.sources.problems(spec, [spec.key]);
      if (problems.length > 0)
        return {
          ready: false,
          reason: 'SourceUnreadable',
          message: problems.join('; '),
          code: 'source-unreadable',
          hint: `restore the files or tables of ProfileSource/${applied.name}, or fix its paths in the manifest, then apply`,
        };
      return { ready: true, reason: 'Verified', message: 'the source is readable' };
    } catch (error) {
      return observedFailure(error);
    }
  },
};

/** The spec with every file path made absolute (relative to the manifest's folder). */
export function absoluteSpec(desired: DesiredResource<ProfileSource>): ProfileSourceSpec {
  return locatedSourceSpec(desired.manifest.spec, dirname(desired.file), desired.manifest.metadata.name);
}

/**
 * An applied source's spec with its file paths made absolute against the folder its last apply
 * found them in: what a run, a refresh or a destination's check reads. Throws a SourceError
 * (`source-location-unknown`) for relative paths without a recorded folder.
 */
export function appliedSourceSpec(applied: AppliedResource): ProfileSourceSpec {
  return locatedSourceSpec(
    applied.spec as unknown as ProfileSourceSpec,
    recordedSourceFolder(applied.remoteFacts?.facts),
    applied.name,
  );
}

/**
 * The applied spec as the desired one would write it: a state written before paths were kept as
 * written holds them absolute; a path that is where the desired (relative) one points is the same
 * path, so upgrading shows no change.
 */
function asWritten(applied: JsonObject, desired: DesiredResource<ProfileSource>): ProfileSourceSpec {
  const before = applied as unknown as ProfileSourceSpec;
  const folder = dirname(desired.file);
  const wanted = desired.manifest.spec;
  const same = (old: string, now: unknown) =>
    typeof now === 'string' && isAbsolute(old) && !isAbsolute(now) && old === resolve(folder, now)
      ? now
      : old;
  return mapSourcePaths(before, (old, field) => same(old, wanted[field]));
}

async function store(desired: DesiredResource<ProfileSource>, context: HandlerContext) {
  // A database URL is resolved now (from the environment or its file), checked, then kept encrypted.
  const url = resolveSourceDatabaseUrl(desired, context.env);
  const located = absoluteSpec(desired);
  const spec = url === undefined ? located : withPostgresUrl(located, url);
  const name = desired.manifest.metadata.name;
  const problems = await context.sources.problems(spec, [spec.key]);
  if (problems.length > 0) {
    throw new ResourceVerificationError(
      'source-unreadable',
      `ProfileSource/${name} cannot be read: ${problems.join('; ')}`,
      {
        context: { resource: `ProfileSource/${name}` },
        hint: 'fix the paths in the manifest (relative to its folder) or the data files, then apply again',
      },
    );
  }
  await storeSourceDatabaseUrl(context.store.secrets, name, url);
  return storeReady(
    context,
    { kind: 'ProfileSource', name, spec: desired.manifest.spec as unknown as JsonObject },
    'the source is readable',
    profileSourceHandler.storedFacts?.(desired),
  );
}
