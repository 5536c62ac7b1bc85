import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import accessSchema from '../../schemas/access.schema.json';
import commonSchema from '../../schemas/common.schema.json';
import connectionSchema from '../../schemas/connection.schema.json';
import exportDestinationSchema from '../../schemas/export-destination.schema.json';
import exportctlSchema from '../../schemas/exportctl.schema.json';
import profileSourceSchema from '../../schemas/profile-source.schema.json';
import refreshSchema from '../../schemas/refresh.schema.json';
import type { Manifest } from './manifest-types.generated';
import * as precompiled from './manifest-validators.generated';

export type ManifestKind = Manifest['kind'];

/** Every kind, in the order resources are created (deletes run in reverse). */
export const manifestKinds = [
  'Access',
  'Refresh',
  'ProfileSource',
  'Connection',
  'ExportDestination',
] as const satisfies readonly ManifestKind[];

const schemaFiles = {
  Connection: 'connection.schema.json',
  ProfileSource: 'profile-source.schema.json',
  ExportDestination: 'export-destination.schema.json',
  Refresh: 'refresh.schema.json',
  Access: 'access.schema.json',
} as const satisfies Record<ManifestKind, string>;

let compiled: { ajv: Ajv2020; byKind: Map<ManifestKind, ValidateFunction> } | undefined;

/**
 * An ajv instance with every schema of schemas/ registered under its file name, so the relative
 * `$ref`s that editors follow resolve the same way here: for checking what editors see
 * (`exportctl.schema.json`). Loading manifests uses the precompiled validators instead. Built once.
 */
export function manifestAjv(): Ajv2020 {
  return compile().ajv;
}

/** The precompiled validators (scripts/generate-from-schemas.mjs), one per kind. */
const validators = precompiled as unknown as Record<ManifestKind, ValidateFunction>;

/**
 * Validates one manifest of a known kind in place: on success, every schema default has been filled
 * in. Errors are ajv's, all of them (`allErrors`), with `parentSchema` for the hints (`verbose`).
 */
export function validateManifestSchema(kind: ManifestKind, data: unknown): ErrorObject[] {
  const validate = validators[kind];
  return validate(data) ? [] : [...(validate.errors ?? [])];
}

export function isManifestKind(value: unknown): value is ManifestKind {
  return typeof value === 'string' && Object.hasOwn(schemaFiles, value);
}

function compile(): NonNullable<typeof compiled> {
  if (compiled) return compiled;
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    useDefaults: true,
    strict: true,
    strictRequired: false,
  });
  addFormats(ajv, ['email', 'uri']);
  // Our own annotations: hints and messages for errors at that schema (ignored by editors).
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
  ajv.addSchema(commonSchema, 'common.schema.json');
  ajv.addSchema(connectionSchema, schemaFiles.Connection);
  ajv.addSchema(profileSourceSchema, schemaFiles.ProfileSource);
  ajv.addSchema(exportDestinationSchema, schemaFiles.ExportDestination);
  ajv.addSchema(refreshSchema, schemaFiles.Refresh);
  ajv.addSchema(accessSchema, schemaFiles.Access);
  ajv.addSchema(exportctlSchema, 'exportctl.schema.json');
  const byKind = new Map<ManifestKind, ValidateFunction>();
  for (const [kind, file] of Object.entries(schemaFiles) as [ManifestKind, string][]) {
    const validate = ajv.getSchema(file);
    if (!validate) throw new Error(`schema ${file} did not compile`);
    byKind.set(kind, validate);
  }
  compiled = { ajv, byKind };
  return compiled;
}
