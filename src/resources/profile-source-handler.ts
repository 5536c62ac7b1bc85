import { dirname, isAbsolute, join } from 'node:path';
import type { ProfileSource, ProfileSourceSpec } from '../config';
import type { JsonObject } from '../state/spec-hash';
import { fieldChanges } from './field-changes';
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
 * The state keeps file paths absolute, so a run (which has no manifest) reads the same files the
 * apply checked; moving the checkout shows as a change of those paths.
 */
export const profileSourceHandler: ResourceHandler<ProfileSource> = {
  kind: 'ProfileSource',

  storedSpec(desired) {
    return absoluteSpec(desired) as unknown as JsonObject;
  },

  async diff(applied, desired) {
    return toDiff(applied, fieldChanges(applied?.spec, this.storedSpec(desired), {}, 'spec'));
  },

  async create(desired, context) {
    return store(desired, context);
  },

  async update(_applied, desired, context) {
    return store(desired, context);
  },

  async delete(applied, context) {
    await context.store.resources.delete('ProfileSource', applied.name, context.owner);
  },

  async read(applied, context) {
    try {
      const spec = applied.spec as unknown as ProfileSourceSpec;
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
  const base = dirname(desired.file);
  const absolute = (path: string) => (isAbsolute(path) ? path : join(base, path));
  const { spec } = desired.manifest;
  if (spec.type === 'sqlite')
    return { ...spec, ...(spec.database === undefined ? {} : { database: absolute(spec.database) }) };
  return { ...spec, profiles: absolute(spec.profiles), segmentMembership: absolute(spec.segmentMembership) };
}

async function store(desired: DesiredResource<ProfileSource>, context: HandlerContext) {
  const spec = absoluteSpec(desired);
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
  return storeReady(
    context,
    { kind: 'ProfileSource', name, spec: spec as unknown as JsonObject },
    'the source is readable',
  );
}
