import type { Writable } from 'node:stream';

export type OutputFormat = 'text' | 'json' | 'markdown';

/** What a command may touch of the outside world; tests pass their own. */
export interface CliContext {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The common flags (DESIGN.md "Common flags") as a command sees them: see `withCommonFlags`. */
export interface GlobalOptions {
  readonly state?: string;
  readonly as?: string;
  readonly output: OutputFormat;
  readonly detailedExitcode?: boolean;
}

export function writeLine(stream: Writable, line = ''): void {
  stream.write(`${line}\n`);
}
