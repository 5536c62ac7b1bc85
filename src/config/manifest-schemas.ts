import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
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
  return typeof value === 'string' && (manifestKinds as readonly string[]).includes(value);
}
