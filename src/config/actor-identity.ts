import { execFileSync } from 'node:child_process';

export interface ActorIdentity {
  readonly identity: string | undefined;
  readonly source: 'flag' | 'env' | 'git' | 'none';
}

/**
 * Who is acting: `--as`, else EXPORTCTL_ACTOR, else git's user.email in `cwd`, else nobody (role
 * checks then say who must be named).
 */
export function resolveActor(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): ActorIdentity {
  if (flag?.trim()) return { identity: flag.trim(), source: 'flag' };
  const fromEnv = env.EXPORTCTL_ACTOR?.trim();
  if (fromEnv) return { identity: fromEnv, source: 'env' };
  try {
    const email = execFileSync('git', ['config', 'user.email'], {
      cwd,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
    if (email) return { identity: email, source: 'git' };
  } catch {
    // Not a git checkout, git missing, or no user.email: nobody.
  }
  return { identity: undefined, source: 'none' };
}
