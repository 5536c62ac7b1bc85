import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const cookieName = 'exportctl_session';
/** Sessions kept at most (the oldest is forgotten first). */
const maxSessions = 1000;

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The token a non-loopback `watch --listen` requires: sent as `Authorization: Bearer TOKEN`, or
 * exchanged once at `/login?token=TOKEN` for a session cookie (HttpOnly, SameSite=Strict) so that a
 * browser can be given a link. The token itself is never put in a cookie, a page or a log line.
 */
export class AccessToken {
  private readonly expected: Buffer;
  private readonly sessions = new Set<string>();

  constructor(token: string) {
    this.expected = digest(token);
  }

  private matches(candidate: string | undefined): boolean {
    return candidate !== undefined && timingSafeEqual(digest(candidate), this.expected);
  }

  /**
   * True when the request may go on; otherwise answers it (401, or the login redirect) and
   * returns false.
   */
  check(request: IncomingMessage, response: ServerResponse, url: URL): boolean {
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    if (this.matches(bearer)) return true;
    const session = cookieValue(request.headers.cookie, cookieName);
    if (session !== undefined && this.sessions.has(session)) return true;
    if (url.pathname === '/login' && this.matches(url.searchParams.get('token') ?? undefined)) {
      const id = randomBytes(24).toString('base64url');
      this.sessions.add(id);
      if (this.sessions.size > maxSessions) {
        const oldest = this.sessions.values().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
      response.writeHead(303, {
        location: '/',
        'set-cookie': `${cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      response.end();
      return false;
    }
    response.writeHead(401, {
      'content-type': 'text/plain; charset=utf-8',
      'www-authenticate': 'Bearer',
      'cache-control': 'no-store',
    });
    response.end(
      'unauthorized: send Authorization: Bearer TOKEN, or open /login?token=TOKEN once (the token of --listen-token-env)\n',
    );
    return false;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}
