import type { Access, Manifest, Refresh } from '../config';
import type { JsonObject } from '../state/spec-hash';
import { fieldChanges } from './field-changes';
import { type ResourceHandler, storeReady, toDiff } from './resource-handler';

/** A handler for a kind with no remote side and nothing to verify: it is stored as declared. */
function plainHandler<M extends Access | Refresh>(kind: M['kind']): ResourceHandler<M> {
  const store = (manifest: Manifest, context: Parameters<ResourceHandler<M>['create']>[1]) =>
    storeReady(
      context,
      { kind, name: manifest.metadata.name, spec: manifest.spec as unknown as JsonObject },
      'applied',
    );
  return {
    kind,
    storedSpec: (desired) => desired.manifest.spec as unknown as JsonObject,
    async diff(applied, desired) {
      return toDiff(applied, fieldChanges(applied?.spec, desired.manifest.spec, {}, 'spec'));
    },
    create: (desired, context) => store(desired.manifest, context),
    update: (_applied, desired, context) => store(desired.manifest, context),
    async delete(applied, context) {
      await context.store.resources.delete(kind, applied.name, context.owner);
    },
    async read() {
      return { ready: true, reason: 'Applied', message: 'nothing remote to check' };
    },
  };
}

export const accessHandler = plainHandler<Access>('Access');
export const refreshHandler = plainHandler<Refresh>('Refresh');
