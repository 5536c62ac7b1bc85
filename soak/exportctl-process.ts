import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { trackChild } from './child-processes';

/** How one exportctl process ended. */
export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Epoch ms. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** SIGKILLed by the campaign's time bound, not by a step. */
  readonly timedOut: boolean;
}

/** A running exportctl process. */
export interface ExportctlProcess {
  readonly args: readonly string[];
  readonly startedAt: number;
  readonly result: Promise<ProcessResult>;
  readonly exited: boolean;
  /** `kill -9`: a crash at this moment. Does nothing once the process has exited. */
  kill(): void;
}

export interface ExportctlOptions {
  readonly root: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** SIGKILL after this long: a hung process must not hang the campaign. */
  readonly timeoutMs: number;
}

/**
 * Starts the built CLI (`bin/exportctl.js`, which runs dist/) as a child process with its own
 * environment and no terminal, the way cron or CI runs it.
 */
export function startExportctl(args: readonly string[], options: ExportctlOptions): ExportctlProcess {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [join(options.root, 'bin', 'exportctl.js'), ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: options.cwd, GIT_CONFIG_NOSYSTEM: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let stdout = '';
  let stderr = '';
  let exited = false;
  let timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const result = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, startedAt, endedAt: Date.now(), timedOut });
    });
  });
  return {
    args,
    startedAt,
    result,
    get exited() {
      return exited;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
