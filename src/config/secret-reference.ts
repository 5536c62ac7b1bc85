import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ExportctlError } from '../errors';
import { errnoOf } from './find-manifest-files';
import type { SecretReference } from './manifest-types.generated';

/** A secret reference that cannot be resolved now: the variable is unset, the file unreadable. */
export class SecretResolutionError extends ExportctlError {}

/**
 * What `{env: NAME}` must hold: the schema's pattern for it (schemas/common.schema.json). Anything
 * else may be the secret itself, pasted where its name belongs, and is never echoed.
 */
export const ENVIRONMENT_VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether a value is a `{env}` / `{file}` reference rather than a literal. */
export function isSecretReference(value: unknown): value is SecretReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    ('env' in value || 'file' in value)
  );
}

/** Where a reference is, for messages: what the secret is and its field in the document. */
export interface SecretReferencePlace {
  /** What the secret is (`Connection/marketing-cc auth.clientSecret`). */
  readonly field: string;
  /**
   * The reference's field in its document (`spec.auth.clientSecret`), put in the error's context
   * as `path` so that callers holding the document can say file:line:col.
   */
  readonly path?: string;
}

/**
 * The value behind a secret reference: the environment variable's value, or the file's content
 * with surrounding whitespace removed (a trailing newline is how files are written). A relative
 * file is relative to the manifest's folder. Throws `SecretResolutionError` (`secret-unresolved`),
 * whose message and context never include the value, nor anything written in the reference that
 * may be the value: an `env` that is not a variable name, a `file` that does not exist (only the
 * path of a file that exists is shown).
 *
 * @param manifestFile the manifest that holds the reference (for relative files and messages)
 * @param place what the secret is and where its reference is, for messages and context
 */
export function resolveSecretReference(
  reference: SecretReference,
  manifestFile: string,
  env: NodeJS.ProcessEnv,
  place: SecretReferencePlace,
): string {
  const { field } = place;
  const where = { field, file: manifestFile, ...(place.path === undefined ? {} : { path: place.path }) };
  if (reference.env !== undefined) {
    if (!ENVIRONMENT_VARIABLE_NAME.test(reference.env)) {
      throw new SecretResolutionError(
        'secret-unresolved',
        `${field}: {env: ...} does not hold the name of an environment variable (what is written there is not shown: it may be the secret itself)`,
        {
          context: where,
          hint: '{env: NAME} takes the NAME of an environment variable, not its value: write e.g. { env: CC_CLIENT_SECRET } and export CC_CLIENT_SECRET=...; if a secret was written into the manifest, rotate it',
        },
      );
    }
    const value = env[reference.env];
    if (value === undefined || value.trim() === '') {
      throw new SecretResolutionError(
        'secret-unresolved',
        `${field}: environment variable ${reference.env} is not set`,
        {
          context: { ...where, env: reference.env },
          hint: `export ${reference.env}=... (in CI, from the secret store) before running this command`,
        },
      );
    }
    return value.trim();
  }
  const file = reference.file ?? '';
  const path = isAbsolute(file) ? file : join(dirname(manifestFile), file);
  let value: string;
  try {
    value = readFileSync(path, 'utf8').trim();
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') {
      // No such file: what is written may be the secret rather than a path, so it is not shown.
      throw new SecretResolutionError(
        'secret-unresolved',
        `${field}: the secret file that {file: ...} names does not exist (${code}; the path is not shown: it may be the secret itself)`,
        {
          context: { ...where, reason: code },
          hint: '{file: PATH} takes the path of a file that holds the secret (relative to the manifest), not the secret: create the file (mode 0600) or correct the path; if a secret was written into the manifest, rotate it',
        },
      );
    }
    throw new SecretResolutionError(
      'secret-unresolved',
      `${field}: cannot read secret file ${path} (${code})`,
      {
        context: { ...where, file: path, reason: code },
        hint: 'make the file readable by this user (mode 0600) or point the reference at the right path',
      },
    );
  }
  if (value === '') {
    throw new SecretResolutionError('secret-unresolved', `${field}: secret file ${path} is empty`, {
      context: { ...where, file: path },
      hint: 'write the secret into the file',
    });
  }
  return value;
}
