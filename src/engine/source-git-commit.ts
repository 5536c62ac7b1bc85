import { execFile } from 'node:child_process';
import { dirname } from 'node:path';
import type { ProfileSourceSpec } from '../config';
import { sourceOriginFile, sourceOriginIdentity } from '../profiles';

/**
 * The commit checked out in the Git working tree that holds the source's files (the folder of the
 * profiles file, or of the sqlite database), or undefined when that folder is not in one (or git is
 * missing). A run has no manifests of its own, only the applied state; manifests and data usually
 * live in one repository (the source's paths are relative to its manifest), so this is the best
 * available answer to "which version of the configuration and data did this run export". A
 * database source (postgres) answers its identity instead: `postgresql://host:5432/crm#profiles`.
 */
export function sourceGitCommit(
  source: ProfileSourceSpec,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  // A database source is in no working tree: its identity (no credentials) says where the data was.
  const identity = sourceOriginIdentity(source);
  if (identity !== undefined) return Promise.resolve(identity);
  const file = sourceOriginFile(source);
  if (file === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', dirname(file), 'rev-parse', '--verify', '--quiet', 'HEAD'],
      { env: gitEnvironment(env), timeout: 5_000, encoding: 'utf8' },
      (error, stdout) => {
        const commit = stdout.trim();
        resolve(error === null && /^[0-9a-f]{40,64}$/.test(commit) ? commit : undefined);
      },
    );
  });
}

/**
 * What git needs of the environment (PATH, HOME, its own GIT_* settings, the locale), and nothing
 * else: the environment also holds the state key and the secrets that `{env}` references name.
 */
function gitEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        name === 'PATH' ||
        name === 'HOME' ||
        name.startsWith('GIT_') ||
        name.startsWith('LC_') ||
        name === 'LANG',
    ),
  );
}
