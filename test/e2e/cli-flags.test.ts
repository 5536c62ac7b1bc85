import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExportctl } from '../support/exportctl-cli';
import { tempFolder } from '../support/temp-folder';

/** The built CLI in a fresh folder whose state is a file there (never the repository's). */
function inFolder() {
  const folder = tempFolder();
  const env = { EXPORTCTL_STATE: `sqlite:${join(folder, 'state.db')}` };
  return {
    folder,
    exportctl: (args: readonly string[], timeoutMs?: number) =>
      runExportctl(args, { cwd: folder, env, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
  };
}

/** The option lines of a `--help` text, e.g. `--state <url>`. */
function optionsOf(help: string): string[] {
  const section = help.split(/^Options:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((match) => match[1] ?? '');
}

describe('flags where they belong', () => {
  it.each([
    ['run', ['run', 'vip-newsletter', '--detailed-exitcode']],
    ['apply', ['apply', '--detailed-exitcode']],
    ['status', ['status', '--detailed-exitcode']],
    ['run, given before the command', ['--detailed-exitcode', 'run', 'vip-newsletter']],
  ])('--detailed-exitcode is refused by %s: it is a flag of plan only', async (_name, args) => {
    const { exportctl } = inFolder();
    const result = await exportctl(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--detailed-exitcode is a flag of `exportctl plan` only');
    expect(result.stdout).toBe('');
  });

  it.each([
    ['plan', ['--state', '--as', '--output', '--detailed-exitcode'], []],
    ['apply', ['--state', '--as', '--output'], ['--detailed-exitcode']],
    ['destroy', ['--state', '--as', '--output'], ['--detailed-exitcode']],
    ['run', ['--state', '--as', '--output'], ['--detailed-exitcode']],
    ['validate', ['--as', '--output'], ['--state', '--detailed-exitcode']],
    ['status', ['--state', '--output'], ['--as', '--detailed-exitcode']],
    ['runs', ['--state', '--output'], ['--as', '--detailed-exitcode']],
    ['watch', ['--state', '--as'], ['--output', '--detailed-exitcode']],
    ['sandbox', ['--output'], ['--state', '--as', '--detailed-exitcode']],
  ])('%s --help lists the common flags it honours, and only those', async (name, shown, hidden) => {
    const { exportctl } = inFolder();
    const result = await exportctl([name, '--help']);
    expect(result.code).toBe(0);
    const options = optionsOf(result.stdout);
    for (const flag of shown) expect(options).toContain(flag);
    for (const flag of hidden) expect(options).not.toContain(flag);
  });

  it('plan --help says where the state comes from and what --as and --output do', async () => {
    const { exportctl } = inFolder();
    // Commander wraps the descriptions to the widest option: compare with the line breaks folded.
    const help = (await exportctl(['plan', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--state <url>\s+state store URL/);
    expect(help).toContain('env: EXPORTCTL_STATE');
    expect(help).toContain('env: EXPORTCTL_ACTOR');
    expect(help).toMatch(/-o, --output <format>/);
  });

  it('a common flag a command does not use is refused, naming the commands that use it', async () => {
    const { exportctl } = inFolder();
    const result = await exportctl(['validate', '--state', 'sqlite:x.db']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('`exportctl validate` does not use --state');
  });

  it('common flags still work before the command name', async () => {
    const { exportctl } = inFolder();
    const before = await exportctl(['--state', 'bogus:x', 'status']);
    const after = await exportctl(['status', '--state', 'bogus:x']);
    expect(before.code).toBe(1);
    expect(after.code).toBe(1);
    expect(before.stderr).toContain('bogus:x');
    expect(before.stderr).toBe(after.stderr);
  });

  it('watch on a path that does not exist exits 1 at once, saying so', async () => {
    const { exportctl } = inFolder();
    const started = Date.now();
    const result = await exportctl(['watch', '/nonexistent/manifests'], 10_000);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.stderr).toContain('/nonexistent/manifests does not exist');
  });
});
