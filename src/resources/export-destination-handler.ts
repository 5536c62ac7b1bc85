import { type ExportDestination, nearestName } from '../config';
import { type CustomFieldType, mappedContactFields } from '../profiles';
import type { AppliedResource } from '../state';
import type { JsonObject } from '../state/spec-hash';
import { connectionRuntime } from './connection-runtime';
import { fieldChanges } from './field-changes';
import { appliedSourceSpec } from './profile-source-handler';
import { withStoredSourceSecrets } from './profile-source-secrets';
import type { ConnectionRuntime, ListFacts } from './remote-services';
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
    const verified = await verify(desired, context);
    await context.store.resources.delete('ExportDestination', applied.name, context.owner);
    return persist(desired, verified, context);
  },

  async delete(applied, context) {
    await context.store.resources.delete('ExportDestination', applied.name, context.owner);
  },

  async read(applied, context): Promise<ObservedStatus> {
    const spec = applied.spec as unknown as ExportDestination['spec'];
    try {
      const connection = await readOnce(context, `Connection/${spec.connection}`, () =>
        connectionRuntime(context.store, spec.connection),
      );
      const list = await context.constantContact.getList(connection, spec.listId);
      if (!list)
        return {
          ready: false,
          reason: 'ListNotFound',
          message: `list ${spec.listId} does not exist in Constant Contact`,
          code: 'list-not-found',
          hint: `the list was deleted in Constant Contact, or Connection/${spec.connection} is another account: set spec.listId of ExportDestination/${applied.name} to a list of that account (the last part of the list page's URL) and apply, or delete the destination`,
        };
      let customFieldTypes: Record<string, CustomFieldType>;
      try {
        customFieldTypes = await checkCustomFields(applied.name, spec, connection, context);
      } catch (error) {
        if (!(error instanceof ResourceVerificationError)) throw error;
        return {
          ready: false,
          reason: 'CustomFieldNotFound',
          message: error.message,
          code: 'custom-field-not-found',
          hint: `a custom field was deleted or renamed in Constant Contact: create it again there, or change dataMatching.customFields of ExportDestination/${applied.name} and apply`,
        };
      }
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
        facts: destinationFacts({ list, customFieldTypes }),
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
): Promise<VerifiedDestination> {
  const { spec } = desired.manifest;
  const id = `ExportDestination/${desired.manifest.metadata.name}`;
  const connection = await connectionRuntime(context.store, spec.connection);
  const list = await context.constantContact.getList(connection, spec.listId);
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
  const customFieldTypes = await checkCustomFields(desired.manifest.metadata.name, spec, connection, context);
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
  return { list, customFieldTypes };
}

/** What verification found: the list, and the types of the mapped custom fields. */
interface VerifiedDestination {
  readonly list: ListFacts;
  readonly customFieldTypes: Readonly<Record<string, CustomFieldType>>;
}

/**
 * Each mapped custom field must exist in the account (the import would be refused otherwise):
 * throws `custom-field-not-found` naming every missing one with the nearest existing name. Returns
 * the mapped fields' types (`date` for Constant Contact's date types, `string` for every other),
 * which apply records with the destination so that runs send dates to date fields. Lists the account's custom fields once per
 * connection and command, whatever the number of destinations; none when nothing is mapped.
 */
async function checkCustomFields(
  name: string,
  spec: ExportDestination['spec'],
  connection: ConnectionRuntime,
  context: HandlerContext,
): Promise<Record<string, CustomFieldType>> {
  const mapped = Object.keys(spec.dataMatching.customFields ?? {});
  if (mapped.length === 0) return {};
  const defined = await context.constantContact.customFields(connection);
  const byName = new Map(defined.map((field) => [field.name, field]));
  const id = `ExportDestination/${name}`;
  const missing = mapped.filter((field) => !byName.has(field));
  if (missing.length > 0) {
    const names = defined.map((field) => field.name);
    const described = missing.map((field) => {
      const nearest = nearestName(field, names);
      return `${field} (${nearest === undefined ? 'the account has no custom fields' : `nearest: ${nearest}`})`;
    });
    throw new ResourceVerificationError(
      'custom-field-not-found',
      `${id}: dataMatching.customFields maps ${missing.length === 1 ? 'a custom field' : 'custom fields'} that the account of Connection/${spec.connection} does not define: ${described.join(', ')}; a custom field must be created in Constant Contact first (an import cannot create one)`,
      {
        context: { resource: id, customFields: missing.join(', ') },
        hint: 'a custom field must be created in Constant Contact first (Contacts > Custom fields); or fix the name in dataMatching.customFields (it is the name Constant Contact shows, case included)',
      },
    );
  }
  return Object.fromEntries(
    mapped.map((field) => [field, byName.get(field)?.type.startsWith('date') ? 'date' : 'string'] as const),
  );
}

async function persist(
  desired: DesiredResource<ExportDestination>,
  verified: VerifiedDestination,
  context: HandlerContext,
): Promise<AppliedResource> {
  return storeReady(
    context,
    {
      kind: 'ExportDestination',
      name: desired.manifest.metadata.name,
      spec: exportDestinationHandler.storedSpec(desired),
    },
    `list "${verified.list.name}" exists`,
    destinationFacts(verified),
  );
}

/** The facts recorded with a destination: its list's, and the mapped custom fields' types. */
function destinationFacts(verified: VerifiedDestination): JsonObject {
  return {
    ...listFacts(verified.list),
    ...(Object.keys(verified.customFieldTypes).length === 0
      ? {}
      : { customFieldTypes: { ...verified.customFieldTypes } }),
  };
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
  const sourceSpec = await withStoredSourceSecrets(
    context.store.secrets,
    source.name,
    appliedSourceSpec(source),
  );
  const { email, firstName, lastName } = spec.dataMatching;
  const fields = [
    sourceSpec.key,
    email,
    ...(firstName ? [firstName] : []),
    ...(lastName ? [lastName] : []),
    ...mappedContactFields(spec.dataMatching).map((field) => field.column),
  ];
  return context.sources.problems(sourceSpec, [...new Set(fields)]);
}

function listFacts(list: ListFacts): JsonObject {
  return {
    listId: list.id,
    listName: list.name,
    ...(list.membershipCount === undefined ? {} : { membershipCount: list.membershipCount }),
  };
}
