import type { ExportDestination } from '../config';
import type { AppliedResource } from '../state';
import type { JsonObject } from '../state/spec-hash';
import { connectionRuntime } from './connection-runtime';
import { fieldChanges } from './field-changes';
import { appliedSourceSpec } from './profile-source-handler';
import type { ListFacts } from './remote-services';
import { ResourceVerificationError } from './resource-errors';
import {
  type DesiredResource,
  type HandlerContext,
  type ObservedStatus,
  observedFailure,
  type ResourceHandler,
  readOnce,
  storeReady,
  toDiff,
} from './resource-handler';

/** A different list (or account) is a different destination: its last snapshot means nothing there. */
const REPLACE_ON = ['spec.listId', 'spec.connection'];

/**
 * Export destinations: before anything is stored, the list must exist in the connection's account
 * and the source must be readable with the mapped fields.
 */
export const exportDestinationHandler: ResourceHandler<ExportDestination> = {
  kind: 'ExportDestination',
  replaceOn: REPLACE_ON,

  storedSpec(desired) {
    return desired.manifest.spec as unknown as JsonObject;
  },

  async diff(applied, desired) {
    return toDiff(
      applied,
      fieldChanges(applied?.spec, this.storedSpec(desired), { replaceOn: REPLACE_ON }, 'spec'),
    );
  },

  /**
   * The list and source checks alone. It reads only: the connection's token may be refreshed, under
   * its own token lock, as an export run does.
   */
  async verify(desired, context) {
    await verify(desired, context);
  },

  async create(desired, context) {
    return store(desired, context);
  },

  async update(_applied, desired, context) {
    return store(desired, context);
  },

  /** Verify the new list and source first: if that fails, the old destination stays applied. */
  async replace(applied, desired, context) {
    const list = await verify(desired, context);
    await context.store.resources.delete('ExportDestination', applied.name, context.owner);
    return persist(desired, list, context);
  },

  async delete(applied, context) {
    await context.store.resources.delete('ExportDestination', applied.name, context.owner);
  },

  async read(applied, context): Promise<ObservedStatus> {
    const spec = applied.spec as unknown as ExportDestination['spec'];
    try {
      const list = await context.constantContact.getList(
        await readOnce(context, `Connection/${spec.connection}`, () =>
          connectionRuntime(context.store, spec.connection),
        ),
        spec.listId,
      );
      if (!list)
        return {
          ready: false,
          reason: 'ListNotFound',
          message: `list ${spec.listId} does not exist in Constant Contact`,
          code: 'list-not-found',
          hint: `the list was deleted in Constant Contact, or Connection/${spec.connection} is another account: set spec.listId of ExportDestination/${applied.name} to a list of that account (the last part of the list page's URL) and apply, or delete the destination`,
        };
      const problems = await sourceProblems(spec, context);
      if (problems.length > 0)
        return {
          ready: false,
          reason: 'SourceUnreadable',
          message: problems.join('; '),
          code: 'source-unreadable',
          hint: `fix ProfileSource/${spec.source}'s data, or the dataMatching of ExportDestination/${applied.name}, then apply`,
        };
      return {
        ready: true,
        reason: 'Verified',
        message: `list "${list.name}" exists`,
        facts: listFacts(list),
      };
    } catch (error) {
      return observedFailure(error);
    }
  },
};

async function store(
  desired: DesiredResource<ExportDestination>,
  context: HandlerContext,
): Promise<AppliedResource> {
  return persist(desired, await verify(desired, context), context);
}

/** The list exists and the source serves the mapped fields; throws and stores nothing otherwise. */
async function verify(
  desired: DesiredResource<ExportDestination>,
  context: HandlerContext,
): Promise<ListFacts> {
  const { spec } = desired.manifest;
  const id = `ExportDestination/${desired.manifest.metadata.name}`;
  const list = await context.constantContact.getList(
    await connectionRuntime(context.store, spec.connection),
    spec.listId,
  );
  if (!list) {
    throw new ResourceVerificationError(
      'list-not-found',
      `${id}: list ${spec.listId} does not exist in the account of Connection/${spec.connection}`,
      {
        context: { resource: id, listId: spec.listId },
        hint: "check listId: it is the last part of the list page's URL in Constant Contact",
      },
    );
  }
  const problems = await sourceProblems(spec, context);
  if (problems.length > 0) {
    throw new ResourceVerificationError(
      'source-unreadable',
      `${id}: ProfileSource/${spec.source} cannot serve this destination: ${problems.join('; ')}`,
      {
        context: { resource: id, source: spec.source },
        hint: 'fix dataMatching (the field names must be columns of the source), or the source',
      },
    );
  }
  return list;
}

async function persist(
  desired: DesiredResource<ExportDestination>,
  list: ListFacts,
  context: HandlerContext,
): Promise<AppliedResource> {
  return storeReady(
    context,
    {
      kind: 'ExportDestination',
      name: desired.manifest.metadata.name,
      spec: exportDestinationHandler.storedSpec(desired),
    },
    `list "${list.name}" exists`,
    listFacts(list),
  );
}

async function sourceProblems(spec: ExportDestination['spec'], context: HandlerContext): Promise<string[]> {
  const source = await readOnce(context, `ProfileSource/${spec.source}`, () =>
    context.store.resources.get('ProfileSource', spec.source),
  );
  if (!source) {
    throw new ResourceVerificationError(
      'dependency-not-applied',
      `ProfileSource/${spec.source} is not applied`,
      {
        context: { source: spec.source },
        hint: `apply the source first (exportctl apply PATH with the file that declares ProfileSource/${spec.source})`,
      },
    );
  }
  const sourceSpec = appliedSourceSpec(source);
  const { email, firstName, lastName } = spec.dataMatching;
  const fields = [sourceSpec.key, email, ...(firstName ? [firstName] : []), ...(lastName ? [lastName] : [])];
  return context.sources.problems(sourceSpec, fields);
}

function listFacts(list: ListFacts): JsonObject {
  return {
    listId: list.id,
    listName: list.name,
    ...(list.membershipCount === undefined ? {} : { membershipCount: list.membershipCount }),
  };
}
