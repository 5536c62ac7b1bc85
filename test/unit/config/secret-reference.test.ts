import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_VARIABLE_NAME,
  resolveSecretReference,
  type SecretReference,
  SecretResolutionError,
} from '../../../src/config';
import { repoRoot } from '../../support/exportctl-cli';
import { tempFolder } from '../../support/temp-folder';

const place = { field: 'Connection/cc auth.clientSecret', path: 'spec.auth.clientSecret' };

/** The SecretResolutionError that resolving `reference` throws; fails the test if it resolves. */
function failureOf(reference: SecretReference, manifestFile: string, env: NodeJS.ProcessEnv = {}) {
  try {
    resolveSecretReference(reference, manifestFile, env, place);
  } catch (error) {
    if (error instanceof SecretResolutionError) return error;
    throw error;
  }
  throw new Error('expected a SecretResolutionError, but it resolved');
}

/** Everything of the error a user or a log can see. */
function visible(error: SecretResolutionError): string {
  return JSON.stringify({ ...error.toJSON(), stack: error.stack });
}

describe('resolveSecretReference', () => {
  it('never echoes an {env} that is not a variable name: it may be the secret itself', () => {
    // Issue #13 (6). Validation refuses it first; this is the second line, for callers that did not.
    const pasted = 'pasted-SECRET.9f8e/7d6c+b5a4';
    const error = failureOf({ env: pasted }, '/work/manifests/connection.yaml', { [pasted]: 'x' });
    expect(error.code).toBe('secret-unresolved');
    expect(visible(error)).not.toContain(pasted);
    expect(error.hint).toContain('{env: NAME} takes the NAME of an environment variable, not its value');
    expect(error.context).toMatchObject({ field: place.field, path: 'spec.auth.clientSecret' });
  });

  it('names an unset variable whose name is a name, and says where its reference is', () => {
    const error = failureOf({ env: 'CC_CLIENT_SECRET' }, '/work/manifests/connection.yaml');
    expect(error.code).toBe('secret-unresolved');
    expect(error.message).toContain('environment variable CC_CLIENT_SECRET is not set');
    expect(error.context).toMatchObject({ env: 'CC_CLIENT_SECRET', path: 'spec.auth.clientSecret' });
  });

  it('does not show the {file} of a file that does not exist: it may be the secret itself', () => {
    const folder = tempFolder();
    const pasted = 'SECRET-pasted-where-a-path-belongs';
    const error = failureOf({ file: pasted }, join(folder, 'connection.yaml'));
    expect(error.code).toBe('secret-unresolved');
    expect(error.context.reason).toBe('ENOENT');
    expect(visible(error)).not.toContain(pasted);
    expect(error.hint).toContain('{file: PATH} takes the path of a file that holds the secret');
  });

  it('shows the path of a file that exists but cannot be used (it is a path, then)', () => {
    const folder = tempFolder();
    writeFileSync(join(folder, 'empty-secret'), '\n');
    const empty = failureOf({ file: 'empty-secret' }, join(folder, 'connection.yaml'));
    expect(empty.message).toContain(join(folder, 'empty-secret'));
    if (process.getuid?.() !== 0) {
      // root reads any file, so unreadable cannot be played as root.
      writeFileSync(join(folder, 'locked-secret'), 'value');
      chmodSync(join(folder, 'locked-secret'), 0o000);
      const locked = failureOf({ file: 'locked-secret' }, join(folder, 'connection.yaml'));
      expect(locked.message).toContain(join(folder, 'locked-secret'));
      expect(locked.context.reason).toBe('EACCES');
    }
  });

  it('resolves a set variable and a file, trimmed', () => {
    const folder = tempFolder();
    writeFileSync(join(folder, 'secret'), 'from-file\n');
    const manifest = join(folder, 'connection.yaml');
    expect(resolveSecretReference({ env: 'CC_X' }, manifest, { CC_X: ' from-env ' }, place)).toBe('from-env');
    expect(resolveSecretReference({ file: 'secret' }, manifest, {}, place)).toBe('from-file');
  });

  it('judges variable names by exactly the schema pattern of {env}', () => {
    const common = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'common.schema.json'), 'utf8')) as {
      $defs: { secretReference: { properties: { env: { pattern: string } } } };
    };
    expect(ENVIRONMENT_VARIABLE_NAME.source).toBe(common.$defs.secretReference.properties.env.pattern);
  });
});
