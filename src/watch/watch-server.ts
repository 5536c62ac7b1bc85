import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessToken } from './status-page';
import type { WatchMetrics } from './watch-metrics';

export interface WatchServerOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: WatchMetrics;
  /** Ready once the first reconcile applied cleanly (the state matches the manifests). */
  readonly isReady: () => boolean;
  /** The `/status` document. */
  readonly status: () => Promise<unknown>;
  /** The status page's routes (`/`, …): true when it answered the request. */
  readonly page?: (request: IncomingMessage, response: ServerResponse, url: URL) => boolean;
  /** Required of every request but /healthz and /readyz (a non-loopback `--listen`). */
  readonly token?: AccessToken;
}

/**
 * The watch process's HTTP endpoint: `/healthz` (the process answers), `/readyz` (the first reconcile
 * applied), `/status` (resources, conditions, runs as JSON), `/metrics` (Prometheus). Bind it to a
 * loopback address, or give it a `token`.
 */
export async function startWatchServer(
  options: WatchServerOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    const url = new URL(request.url ?? '/', 'http://watch.invalid');
    if (
      options.token &&
      path !== '/healthz' &&
      path !== '/readyz' &&
      !options.token.check(request, response, url)
    )
      return undefined;
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/readyz')
      return options.isReady()
        ? send(200, 'text/plain', 'ready\n')
        : send(503, 'text/plain', 'not ready: the manifests are not applied yet\n');
    if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => send(200, options.metrics.registry.contentType, text),
        (error: unknown) => send(500, 'text/plain', `${String(error)}\n`),
      );
      return undefined;
    }
    if (path === '/status') {
      options.status().then(
        (body) => send(200, 'application/json', `${JSON.stringify(body, null, 2)}\n`),
        (error: unknown) =>
          send(
            500,
            'application/json',
            `${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`,
          ),
      );
      return undefined;
    }
    if (options.page?.(request, response, url)) return undefined;
    return send(404, 'text/plain', 'not found: try /, /healthz, /readyz, /status or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
