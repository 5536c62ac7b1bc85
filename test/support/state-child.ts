import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './exportctl-cli';

const script = join(__dirname, 'state-child.cjs');
const builtState = join(repoRoot, 'dist', 'src', 'state', 'index.js');

export interface ChildEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface StateChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves the first event named `name` (earlier or later); rejects if the child exits first. */
  next(name: string): Promise<ChildEvent>;
  /** Resolves when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; events: ChildEvent[] }>;
}

/**
 * Starts test/support/state-child.cjs (the built store in another process) with one request.
 * Needs dist/ (npm test builds it first). Killed after `timeoutMs` so a hung child fails the test.
 */
export function startStateChild(
  request: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): StateChild {
  if (!existsSync(builtState)) throw new Error(`${builtState} is missing: run npm run build first`);
  const child = spawn(process.execPath, [script, JSON.stringify(request)], {
    cwd: options.cwd ?? repoRoot,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events: ChildEvent[] = [];
  const waiters: { name: string; resolve: (event: ChildEvent) => void; reject: (error: Error) => void }[] =
    [];
  let buffered = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const event = JSON.parse(buffered.slice(0, newline)) as ChildEvent;
      buffered = buffered.slice(newline + 1);
      events.push(event);
      for (const waiter of waiters.filter((w) => w.name === event.event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; events: ChildEvent[] }>(
    (resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        for (const waiter of waiters.splice(0)) {
          waiter.reject(
            new Error(
              `the child exited (${code ?? signal}) before "${waiter.name}": ${JSON.stringify(events)}`,
            ),
          );
        }
        resolve({ code, signal, events });
      });
    },
  );
  return {
    process: child,
    pid: child.pid ?? -1,
    exited,
    next(name) {
      const seen = events.find((event) => event.event === name);
      if (seen !== undefined) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.reject(new Error(`the child has exited before "${name}": ${JSON.stringify(events)}`));
      }
      return new Promise((resolve, reject) => waiters.push({ name, resolve, reject }));
    },
  };
}
