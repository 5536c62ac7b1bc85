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

/** Options for running the binary: its folder, extra environment, stdin, and a kill-after time. */
export interface ExportctlOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  /** SIGKILL the child after this long (default 60 s), so a hung child fails its test. */
  readonly timeoutMs?: number;
}

/**
 * Runs the built `exportctl` binary (dist/, built by `npm test` before vitest) as a child process,
 * the way a user runs it: no TTY, its own environment. EXPORTCTL_ACTOR and git identity are cleared
 * unless the test sets them, so results do not depend on the machine's git config.
 */
export function runExportctl(args: readonly string[], options: ExportctlOptions = {}): Promise<CliResult> {
  return startExportctl(args, options).done;
}

/** A running `exportctl` child process whose output can be read while it runs. */
export interface RunningExportctl {
  readonly child: ReturnType<typeof spawn>;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves once the output contains `text` (or rejects after `timeoutMs`). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  readonly done: Promise<CliResult>;
  /** The same promise as `done`. */
  readonly result: Promise<CliResult>;
  /** Sends SIGKILL (a crash, as `kill -9`), or another signal; does nothing once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  readonly exited: boolean;
}

/** Starts the built binary like {@link runExportctl}, without waiting for it to end. */
export function startExportctl(args: readonly string[], options: ExportctlOptions = {}): RunningExportctl {
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
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    changed();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    changed();
  });
  child.stdin?.end(options.input ?? '');
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      changed();
      resolve({ code, signal, stdout, stderr });
    });
  });
  const output = () => stdout + stderr;
  return {
    child,
    output,
    done,
    result: done,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!exited) child.kill(signal);
    },
    get exited() {
      return exited;
    },
    waitFor(text, timeoutMs = 30_000) {
      const found = () => (typeof text === 'string' ? output().includes(text) : text.test(output()));
      if (found()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${String(text)}; output so far:\n${output()}`));
        }, timeoutMs);
        const check = () => {
          if (found()) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (child.exitCode !== null || exited) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`exited before printing ${String(text)}:\n${output()}`));
          }
        };
        listeners.add(check);
      });
    },
  };
}
