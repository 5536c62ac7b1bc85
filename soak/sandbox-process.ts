import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { trackChild } from './child-processes';

/** `exportctl sandbox` running as its own process for one scenario. */
export interface SandboxProcess {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly apiUrl: string;
  readonly tokenUrl: string;
  /** SIGTERM, then waits for the exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

export interface SandboxProcessOptions {
  readonly root: string;
  readonly cwd: string;
  readonly seedFile: string;
  readonly requestsPerSecond: number;
  /** Seed of the sandbox's PRNG for list, activity and contact IDs (drawn from the scenario's). */
  readonly randomSeed: number;
}

/**
 * Starts the built `exportctl sandbox --port 0 --output json` with the scenario's seed, on a free
 * loopback port, and resolves once it printed where it listens.
 */
export function startSandboxProcess(options: SandboxProcessOptions): Promise<SandboxProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(options.root, 'bin', 'exportctl.js'),
      'sandbox',
      '--port',
      '0',
      '--output',
      'json',
      '--seed',
      options.seedFile,
      '--requests-per-second',
      String(options.requestsPerSecond),
      '--random-seed',
      String(options.randomSeed),
    ],
    {
      cwd: options.cwd,
      env: { PATH: process.env.PATH, HOME: options.cwd },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  trackChild(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exportctl sandbox did not start within 20 s: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exportctl sandbox exited with ${code}: ${stderr}`));
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n')[0];
      if (line === undefined || !stdout.includes('\n')) return;
      clearTimeout(timer);
      const shown = JSON.parse(line) as { url: string; apiUrl: string; tokenUrl: string };
      resolve({
        url: shown.url,
        apiUrl: shown.apiUrl,
        tokenUrl: shown.tokenUrl,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(force);
        },
      });
    });
  });
}
