import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/exportctl-cli';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `exportctl sandbox ...` and resolves with its stdout once `ready` matches it. */
function startCli(
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; output: () => string; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'exportctl.js'), 'sandbox', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: repoRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = stdout.match(ready);
      if (match) resolve({ child, output: () => stdout, match });
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('exit', (code) => reject(new Error(`exportctl sandbox exited ${code}: ${stderr}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });

describe('exportctl sandbox', () => {
  it('prints its URLs with --port 0, serves the API and the token endpoint, and stops on SIGTERM', async () => {
    const { child, match, output } = await startCli(
      ['--port', '0'],
      // Up to the last line: under load, stdout may arrive in several chunks.
      /api:\s+(http:\/\/127\.0\.0\.1:\d+\/v3)\n[\s\S]*Stop with Ctrl\+C\.\n/,
    );
    const apiUrl = match[1] as string;
    expect(output()).toMatch(/^Constant Contact sandbox listening on http:\/\/127\.0\.0\.1:\d+\n/);
    expect(output()).toContain('sandbox-seed.json');
    const base = apiUrl.replace(/\/v3$/, '');
    const token = await fetch(`${base}/oauth2/default/v1/token`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from('sandbox-client:sandbox-secret').toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=refresh_token&refresh_token=sandbox-refresh-token',
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const list = await fetch(`${apiUrl}/contact_lists/04fe9a97-a579-43c5-bb1a-58ed29bf0a6a`, {
      headers: { Authorization: `Bearer ${access_token}` },
    });
    expect(await list.json()).toMatchObject({ name: 'VIP and newsletter' });
    const stats = (await (await fetch(`${base}/__sandbox/stats`)).json()) as { total: number };
    expect(stats.total).toBe(1);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('prints one JSON line with --output json', async () => {
    const { child, match } = await startCli(['--port', '0', '--output', 'json'], /^(\{.*\})\n/);
    const shown = JSON.parse(match[1] as string) as { url: string; apiUrl: string; tokenUrl: string };
    expect(shown.apiUrl).toBe(`${shown.url}/v3`);
    expect(shown.tokenUrl).toBe(`${shown.url}/oauth2/default/v1/token`);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  });
});
