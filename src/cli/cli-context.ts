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

/** The flags every command shares (DESIGN.md "Common flags"). */
export interface GlobalOptions {
  readonly state?: string;
  readonly as?: string;
  readonly output: OutputFormat;
  readonly detailedExitcode?: boolean;
}

export function writeLine(stream: Writable, line = ''): void {
  stream.write(`${line}\n`);
}
