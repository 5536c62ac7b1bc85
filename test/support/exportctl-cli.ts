import { type SpawnOptions, spawn } from 'node:child_process';
import { join } from 'node:path';

export const repoRoot = join(__dirname, '..', '..');
const binary = join(repoRoot, 'bin', 'exportctl.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `exportctl` child: await `result`, or kill it (SIGKILL) first. */
export interface ExportctlProcess {
  readonly result: Promise<CliResult>;
  /** Sends SIGKILL (a crash, as `kill -9`), or another signal; does nothing once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: boolean;
}

/**
 * Runs the built `exportctl` binary (dist/, built by `npm test` before vitest) as a child process,
 * the way a user runs it: no TTY, its own environment. EXPORTCTL_ACTOR and git identity are cleared
 * unless the test sets them, so results do not depend on the machine's git config.
 */
export function runExportctl(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return startExportctl(args, options).result;
}

/** `runExportctl`, with a handle to kill the child before it ends. */
export function startExportctl(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): ExportctlProcess {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: options.cwd ?? repoRoot,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    ...options.env,
  };
  const spawnOptions: SpawnOptions = { cwd: options.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] };
  const child = spawn(process.execPath, [binary, ...args], spawnOptions);
  let exited = false;
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
  return {
    result,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!exited) child.kill(signal);
    },
    get exited() {
      return exited;
    },
  };
}
