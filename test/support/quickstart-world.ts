import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { type SandboxFaultRates, type SandboxHandle, startSandbox } from '../../src/sandbox';
import { repoRoot, runExportctl, startExportctl } from './exportctl-cli';
import { copyToTemp, tempFolder } from './temp-folder';

const started: SandboxHandle[] = [];

/** A sandbox on a free loopback port and a temp copy of the quickstart pointed at it. */
export interface QuickstartWorld {
  readonly sandbox: SandboxHandle;
  /** The copy of config-examples/quickstart. */
  readonly manifests: string;
  /** The folder holding state.db (and the sandbox's state file). */
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs the built CLI in `home` with the world's environment (plus `env`). */
  exportctl(args: readonly string[], env?: NodeJS.ProcessEnv): ReturnType<typeof runExportctl>;
  startExportctl(args: readonly string[], env?: NodeJS.ProcessEnv): ReturnType<typeof startExportctl>;
  /** Rewrites a manifest of the copy. */
  edit(file: string, change: (text: string) => string): void;
  /** Every token the sandbox has issued and still knows, plus the seeded secrets. */
  secrets(): string[];
}

/** A temp copy of config-examples/quickstart whose connection points at `sandbox`; returns its folder. */
export function quickstartCopy(sandbox: Pick<SandboxHandle, 'url'>): string {
  const manifests = copyToTemp(join(repoRoot, 'config-examples', 'quickstart'));
  const connection = join(manifests, 'connection.yaml');
  writeFileSync(
    connection,
    readFileSync(connection, 'utf8').replaceAll('http://127.0.0.1:8787', sandbox.url),
  );
  return manifests;
}

export async function quickstartWorld(
  options: { faults?: SandboxFaultRates; actor?: string } = {},
): Promise<QuickstartWorld> {
  const home = tempFolder();
  const stateFile = join(home, 'sandbox-state.json');
  const sandbox = await startSandbox({ stateFile, ...(options.faults ? { faults: options.faults } : {}) });
  started.push(sandbox);
  const manifests = quickstartCopy(sandbox);
  const env: NodeJS.ProcessEnv = {
    CC_CLIENT_SECRET: 'sandbox-secret',
    CC_REFRESH_TOKEN: 'sandbox-refresh-token',
    EXPORTCTL_STATE: `sqlite:${join(home, 'state.db')}`,
    ...(options.actor === undefined
      ? { EXPORTCTL_ACTOR: 'ops@example.com' }
      : options.actor
        ? { EXPORTCTL_ACTOR: options.actor }
        : {}),
  };
  return {
    sandbox,
    manifests,
    home,
    env,
    exportctl: (args, extra = {}) => runExportctl(args, { cwd: home, env: { ...env, ...extra } }),
    startExportctl: (args, extra = {}) => startExportctl(args, { cwd: home, env: { ...env, ...extra } }),
    edit(file, change) {
      const path = join(manifests, file);
      writeFileSync(path, change(readFileSync(path, 'utf8')));
    },
    secrets() {
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
        clients?: { refreshTokens?: string[] }[];
        accessTokens?: { token: string }[];
      };
      return [
        'sandbox-secret',
        'sandbox-refresh-token',
        ...(state.clients ?? []).flatMap((client) => client.refreshTokens ?? []),
        ...(state.accessTokens ?? []).map((token) => token.token),
      ];
    },
  };
}

afterEach(async () => {
  for (const sandbox of started.splice(0)) await sandbox.close();
});
