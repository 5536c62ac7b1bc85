import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exportctl-cli';
import { startPostgresServer } from '../support/postgres-server';
import { tempFolder } from '../support/temp-folder';

/** Runs `npm run demo`'s script the way npm does (node scripts/demo.mjs), without a TTY. */
function runDemo(
  folder: string,
  args: readonly string[] = [],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'demo.mjs'), ...args], {
    cwd: repoRoot,
    env: {
      ...extraEnv,
      PATH: process.env.PATH,
      HOME: folder,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      EXPORTCTL_DEMO_FOLDER: join(folder, 'demo'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm run demo (scripts/demo.mjs on the quickstart, 1,000 profiles)', () => {
  it('validates, applies, plans, exports, shows the lists, finds nothing to send again, and exits 0', async () => {
    const folder = tempFolder();
    const { code, output } = await runDemo(folder);
    expect(code, output).toBe(0);
    // Each step, in order.
    const steps = [...output.matchAll(/^(\d)\. /gm)].map((match) => Number(match[1]));
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(output).toMatch(/6 manifests in 4 files: valid/);
    expect(output).toMatch(/\+ ExportDestination\/vip-newsletter/);
    expect(output).toMatch(/Apply complete/);
    // The dry run's data plan.
    const plan = output.slice(output.indexOf('\n4. '), output.indexOf('\n5. '));
    expect(plan).toMatch(
      /Data plan for vip-newsletter \(list [0-9a-f-]{36}\): nothing is sent\n {2}\+ 464 to add\n/,
    );
    expect(plan).toMatch(/API: 1 import call/);
    // The first runs: summaries with imports, unsubscribed and where the row issues are.
    const first = output.slice(output.indexOf('\n5. '), output.indexOf('\n6. '));
    expect(first).toMatch(/vip-newsletter: run \d+ succeeded .*\+464 new/);
    expect(first).toMatch(/win-back: run \d+ succeeded .*\+149 new/);
    expect(first).toMatch(/2 unsubscribed in Constant Contact/);
    expect(first).toMatch(
      /row issues: 11 errors, 12 warnings; as CSV: exportctl runs vip-newsletter \d+ --row-issues > issues\.csv/,
    );
    // The sandbox's lists hold the exported contacts, less the unsubscribed ones.
    const lists = output.slice(output.indexOf('\n6. '), output.indexOf('\n7. '));
    expect(lists).toMatch(/VIP and newsletter\s+462 members/);
    expect(lists).toMatch(/Win-back\s+148 members/);
    // The second runs find nothing to send.
    const again = output.slice(output.indexOf('\n7. '), output.indexOf('\n8. '));
    // Nothing changed since the first runs: each is skipped after its list request, unread.
    expect(again).toMatch(
      /vip-newsletter: run \d+ succeeded .*: unchanged, 464 contacts as the last run left them; nothing read, nothing sent/,
    );
    expect(again).toMatch(
      /win-back: run \d+ succeeded .*: unchanged, 149 contacts as the last run left them; nothing read, nothing sent/,
    );
    // One GET each (the preflight); a 429 retried when the first runs' last GET and these preflights
    // meet the sandbox's 4 requests/second from two processes counts a second request: what matters
    // is that nothing is written.
    expect(again).toMatch(/API: [12] requests? \(0 writes/);
    expect(again).not.toMatch(/API: \d+ requests? \([1-9]\d* writes?/);
    expect(output).toMatch(/ExportDestination\/win-back\s+Ready/);
    // The folder it names holds the state, the row issues in it (no CSV files beside it).
    expect(existsSync(join(folder, 'demo', '.exportctl', 'state.db'))).toBe(true);
    expect(existsSync(join(folder, 'demo', '.exportctl', 'runs'))).toBe(false);
  }, 120_000);

  it('runs on a PostgreSQL state with --state postgres://…, and never prints its password', async () => {
    const server = await startPostgresServer();
    try {
      const folder = tempFolder();
      const url = server.url({ database: await server.createDatabase('demo'), schema: 'demo' });
      const noKey = await runDemo(folder, ['--state', url]);
      expect(noKey.code).toBe(1);
      expect(noKey.output).toContain(
        'EXPORTCTL_SECRET_KEY=$(openssl rand -base64 32) npm run demo -- --state',
      );
      const { code, output } = await runDemo(folder, ['--state', url], {
        EXPORTCTL_SECRET_KEY: randomBytes(32).toString('base64'),
      });
      expect(code, output).toBe(0);
      expect(output).toContain('to the state postgres://***@127.0.0.1:');
      const again = output.slice(output.indexOf('\n7. '), output.indexOf('\n8. '));
      expect(again).toMatch(/vip-newsletter: run \d+ succeeded .*: unchanged, 464 contacts/);
      expect(again).toMatch(/win-back: run \d+ succeeded .*: unchanged, 149 contacts/);
      expect(output).toMatch(/ExportDestination\/win-back\s+Ready/);
      expect(`${noKey.output}${output}`).not.toContain(server.password);
      // The state is in PostgreSQL: no SQLite file beside the manifests.
      expect(existsSync(join(folder, 'demo', '.exportctl', 'state.db'))).toBe(false);
    } finally {
      await server.dispose();
    }
  }, 180_000);
});
