import { afterEach, describe, expect, it } from 'vitest';
import { type RunningExportctl, startExportctl } from '../../support/exportctl-cli';

const children: RunningExportctl[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** Starts `exportctl sandbox ...` and resolves once its output matches `ready`, with the match. */
async function startCli(args: string[], ready: RegExp) {
  const child = startExportctl(['sandbox', ...args]);
  children.push(child);
  await child.waitFor(ready);
  return { child, output: () => child.output(), match: child.output().match(ready) as RegExpMatchArray };
}

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
    expect((await child.done).code).toBe(0);
  });

  it('prints one JSON line with --output json; takes its random seed and fault streams from flags', async () => {
    const { child, match } = await startCli(
      [
        '--port',
        '0',
        '--output',
        'json',
        '--random-seed',
        '5',
        '--fault-seed',
        '3',
        '--fault-token-slow',
        '0.5',
        '--fault-per-route',
      ],
      /^(\{.*\})\n/,
    );
    const shown = JSON.parse(match[1] as string) as { url: string; apiUrl: string; tokenUrl: string };
    expect(shown.apiUrl).toBe(`${shown.url}/v3`);
    expect(shown.tokenUrl).toBe(`${shown.url}/oauth2/default/v1/token`);
    expect(await (await fetch(`${shown.url}/__sandbox/faults`)).json()).toEqual({
      seed: 3,
      tokenSlow: 0.5,
      perRoute: true,
    });
    child.kill('SIGINT');
    expect((await child.done).code).toBe(0);
  });
});
