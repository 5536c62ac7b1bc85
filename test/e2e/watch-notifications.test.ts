import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vipListId } from '../support/export-world';
import { quickstartWorld } from '../support/quickstart-world';

const hookSecret = 'T0AAA/B0BBB/watch-hook-secret-42';

describe('exportctl watch notifications (a watch process, the sandbox, a local webhook receiver)', () => {
  const bodies: Record<string, unknown>[] = [];
  let server: ReturnType<typeof createServer>;
  let hookUrl = '';
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += chunk;
      });
      request.on('end', () => {
        if (request.url?.includes(hookSecret)) bodies.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/${hookSecret}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a list deleted in Constant Contact: one message when the destination stalls, across drift checks, without secrets', async () => {
    const w = await quickstartWorld();
    w.edit('platform.yaml', (text) =>
      text.replace(
        'contributors: [analyst@example.com]',
        'contributors: [analyst@example.com]\n  notifications:\n    webhook:\n      url: { env: HOOK_URL }',
      ),
    );
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    w.sandbox.account.deleteList(vipListId);
    const watch = w.startExportctl(['watch', w.manifests, '--drift-interval', '1s', '--debounce', '100ms'], {
      HOOK_URL: hookUrl,
    });
    try {
      // Wait for three drift checks after the message: the same Stalled seen again sends nothing.
      const deadline = Date.now() + 40_000;
      while (bodies.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const checks = () => (watch.output().match(/"msg":"drift check done"/g) ?? []).length;
      const seen = checks();
      while (checks() < seen + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(checks()).toBeGreaterThanOrEqual(seen + 3);
    } finally {
      watch.kill('SIGTERM');
      await watch.done;
    }
    const stalled = bodies.filter((body) => body.resource === 'ExportDestination/vip-newsletter');
    expect(stalled.map((body) => body.event)).toEqual(['stalled']);
    expect(stalled[0]?.destination).toBe('vip-newsletter');
    expect(String(stalled[0]?.reason)).toContain(`ListNotFound: list ${vipListId} does not exist`);
    expect(String(stalled[0]?.hint)).toMatch(/exportctl plan/);
    expect(String(stalled[0]?.text)).toContain('vip-newsletter is Stalled');
    const everything = JSON.stringify(bodies) + watch.output();
    for (const secret of [hookSecret, ...w.secrets()]) expect(everything).not.toContain(secret);
  }, 60_000);
});
