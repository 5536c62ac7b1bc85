import { isIP } from 'node:net';

/**
 * A loopback host: `localhost`, any address of 127.0.0.0/8, or `::1` (bare, or bracketed as
 * `URL.hostname` gives it). The one rule for what may be plain http, what the sandbox may listen on,
 * what watch's endpoint may bind and which requests bypass a proxy.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}
