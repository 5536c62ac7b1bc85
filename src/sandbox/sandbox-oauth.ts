import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SeedAccessToken, SeedClient } from './sandbox-seed';

export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret: string;
  limits: { readonly requestsPerSecond: number; readonly requestsPerDay: number };
}

/** The token endpoint's answer: status and JSON body, as Constant Contact's (Okta) server sends them. */
export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface SandboxOAuthOptions {
  /** Access token lifetime; Constant Contact's is 24 h. */
  readonly accessTokenTtlSeconds: number;
  /** Rotating refresh tokens (each refresh returns a new one and kills the used one); default on. */
  readonly rotateRefreshTokens: boolean;
}

const invalidGrant: TokenAnswer = {
  status: 400,
  body: { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' },
};
const invalidClient: TokenAnswer = {
  status: 401,
  body: { error: 'invalid_client', error_description: 'Client authentication failed.' },
};

/**
 * The sandbox's authorization server: OAuth clients, their valid refresh tokens, issued access
 * tokens. Refresh tokens rotate (a used one answers invalid_grant forever after) unless configured
 * otherwise; access tokens expire after `accessTokenTtlSeconds` or when revoked early (a fault).
 */
export class SandboxOAuth {
  private readonly clients = new Map<string, OAuthClient>();
  /** Valid refresh tokens and their client. */
  private readonly refreshTokens = new Map<string, string>();
  private readonly accessTokens = new Map<string, { clientId: string; expiresAt: number }>();

  constructor(
    clients: readonly SeedClient[],
    accessTokens: readonly SeedAccessToken[],
    private readonly options: SandboxOAuthOptions,
  ) {
    for (const client of clients) {
      this.clients.set(client.clientId, {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        limits: {
          requestsPerSecond: client.limits?.requestsPerSecond ?? 4,
          requestsPerDay: client.limits?.requestsPerDay ?? 10_000,
        },
      });
      for (const token of client.refreshTokens) this.refreshTokens.set(token, client.clientId);
    }
    for (const token of accessTokens) this.accessTokens.set(token.token, { ...token });
  }

  client(clientId: string): OAuthClient | undefined {
    return this.clients.get(clientId);
  }

  /** Every client, in seed order. */
  allClients(): OAuthClient[] {
    return [...this.clients.values()];
  }

  /**
   * Changes the limits of one client, or of every client when `clientId` is undefined; what is not
   * given stays. False when there is no such client.
   */
  setLimits(
    clientId: string | undefined,
    limits: { readonly requestsPerSecond?: number; readonly requestsPerDay?: number },
  ): boolean {
    const targets = clientId === undefined ? [...this.clients.values()] : [this.clients.get(clientId)];
    if (targets.some((client) => client === undefined)) return false;
    for (const client of targets as OAuthClient[]) client.limits = { ...client.limits, ...limits };
    return true;
  }

  /**
   * Handles `POST /oauth2/default/v1/token`: `Authorization: Basic base64(id:secret)` and a form body
   * `grant_type=refresh_token&refresh_token=...`.
   */
  token(
    authorization: string | undefined,
    form: URLSearchParams,
    now: number,
  ): TokenAnswer & { clientId?: string } {
    const client = this.authenticate(authorization);
    if (!client) return invalidClient;
    if (form.get('grant_type') !== 'refresh_token') {
      return {
        status: 400,
        body: {
          error: 'unsupported_grant_type',
          error_description: 'The sandbox supports grant_type=refresh_token.',
        },
      };
    }
    const used = form.get('refresh_token') ?? '';
    if (this.refreshTokens.get(used) !== client.clientId)
      return { ...invalidGrant, clientId: client.clientId };
    let refreshToken = used;
    if (this.options.rotateRefreshTokens) {
      this.refreshTokens.delete(used);
      refreshToken = newToken('rt');
      this.refreshTokens.set(refreshToken, client.clientId);
    }
    const accessToken = newToken('at');
    this.accessTokens.set(accessToken, {
      clientId: client.clientId,
      expiresAt: now + this.options.accessTokenTtlSeconds * 1000,
    });
    return {
      status: 200,
      clientId: client.clientId,
      body: {
        token_type: 'Bearer',
        expires_in: this.options.accessTokenTtlSeconds,
        access_token: accessToken,
        scope: 'contact_data offline_access',
        refresh_token: refreshToken,
      },
    };
  }

  /**
   * A new valid refresh token for a client, as a person re-authorising the application in Constant
   * Contact gets one; undefined for an unknown client. Tokens issued before stay valid.
   */
  issueRefreshToken(clientId: string): string | undefined {
    if (!this.clients.has(clientId)) return undefined;
    const token = newToken('rt');
    this.refreshTokens.set(token, clientId);
    return token;
  }

  /** The client an access token belongs to, or undefined if it is unknown, expired or revoked. */
  clientOf(accessToken: string, now: number): OAuthClient | undefined {
    const entry = this.accessTokens.get(accessToken);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.accessTokens.delete(accessToken);
      return undefined;
    }
    return this.clients.get(entry.clientId);
  }

  /** Revokes one access token (an early-expiry fault), or all of them. */
  revoke(accessToken?: string): void {
    if (accessToken === undefined) this.accessTokens.clear();
    else this.accessTokens.delete(accessToken);
  }

  /** The clients with their currently valid refresh tokens, and the live access tokens: for a state file. */
  snapshot(now: number): { clients: SeedClient[]; accessTokens: SeedAccessToken[] } {
    const clients = [...this.clients.values()].map((client) => ({
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      refreshTokens: [...this.refreshTokens]
        .filter(([, owner]) => owner === client.clientId)
        .map(([token]) => token),
      limits: { ...client.limits },
    }));
    const accessTokens = [...this.accessTokens]
      .filter(([, entry]) => entry.expiresAt > now)
      .map(([token, entry]) => ({ token, clientId: entry.clientId, expiresAt: entry.expiresAt }));
    return { clients, accessTokens };
  }

  /** The client a `Basic` authorization header names, if its secret is right. */
  authenticate(authorization: string | undefined): OAuthClient | undefined {
    const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const client = this.clients.get(decoded.slice(0, colon));
    if (!client) return undefined;
    const given = Buffer.from(decoded.slice(colon + 1));
    const expected = Buffer.from(client.clientSecret);
    return given.length === expected.length && timingSafeEqual(given, expected) ? client : undefined;
  }
}

function newToken(kind: string): string {
  return `sandbox-${kind}-${randomBytes(24).toString('base64url')}`;
}
