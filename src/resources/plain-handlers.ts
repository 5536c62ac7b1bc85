import type { Access, Manifest, Refresh } from '../config';
import type { JsonObject } from '../state/spec-hash';
import { toDiff } from './connection-handler';
import { fieldChanges } from './field-changes';
import { type ResourceHandler, readyConditions } from './resource-handler';

/** A handler for a kind with no remote side and nothing to verify: it is stored as declared. */
function plainHandler<M extends Access | Refresh>(kind: M['kind']): ResourceHandler<M> {
  const store = async (manifest: Manifest, context: Parameters<ResourceHandler<M>['create']>[1]) => {
    const name = manifest.metadata.name;
    await context.store.resources.put({
      kind,
      name,
      owner: context.owner,
      spec: manifest.spec as unknown as JsonObject,
    });
    await context.store.resources.setConditions(kind, name, readyConditions('applied'));
    const applied = await context.store.resources.get(kind, name);
    if (!applied) throw new Error(`${kind}/${name} vanished right after it was stored`);
    return applied;
  };
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
