import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { ExportctlError } from '../errors';
import { errnoOf } from './find-manifest-files';
import type { SecretReference } from './manifest-types.generated';

/** A secret reference that cannot be resolved now: the variable is unset, the file unreadable. */
export class SecretResolutionError extends ExportctlError {}

/** Whether a value is a `{env}` / `{file}` reference rather than a literal. */
export function isSecretReference(value: unknown): value is SecretReference {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    ('env' in value || 'file' in value)
  );
}

/**
 * The value behind a secret reference: the environment variable's value, or the file's content
 * with surrounding whitespace removed (a trailing newline is how files are written). A relative
 * file is relative to the manifest's folder. Never includes the value in an error.
 *
 * @param manifestFile the manifest that holds the reference (for relative files and messages)
 * @param field what the secret is, for messages (`Connection/marketing-cc auth.clientSecret`)
 */
export function resolveSecretReference(
  reference: SecretReference,
  manifestFile: string,
  env: NodeJS.ProcessEnv,
  field: string,
): string {
  if (reference.env !== undefined) {
    const value = env[reference.env];
    if (value === undefined || value.trim() === '') {
      throw new SecretResolutionError(
        'secret-unresolved',
        `${field}: environment variable ${reference.env} is not set`,
        {
          context: { field, env: reference.env, file: manifestFile },
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
    throw new SecretResolutionError(
      'secret-unresolved',
      `${field}: cannot read secret file ${path} (${errnoOf(error)})`,
      {
        cause: error,
        context: { field, file: path },
        hint: 'create the file (mode 0600) or point the reference at the right path',
      },
    );
  }
  if (value === '') {
    throw new SecretResolutionError('secret-unresolved', `${field}: secret file ${path} is empty`, {
      context: { field, file: path },
      hint: 'write the secret into the file',
    });
  }
  return value;
}
