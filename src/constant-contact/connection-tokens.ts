import type { AxiosInstance } from 'axios';
import { isLoopbackHost } from '../net';
import { AuthError, ConstantContactError, type RequestDescription } from './constant-contact-errors';
import type { RequestLimiter } from './request-limiter';
import { secondsText } from './retry-notices';
import { type AttemptEnvironment, errorText, type FinalFailure, sendWithRetries } from './send-with-retries';
import { refreshTokenFingerprint } from './token-fingerprint';
import type { StoredTokens, TokenStore } from './token-store';

/** A connection's OAuth client and bootstrap refresh token, resolved from their secret references. */
export interface ConnectionCredentials {
  /** The API key (client ID). Not a secret, but it names the rate-limit bucket. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** The refresh token the manifest references: used until Constant Contact rotates it. */
  readonly bootstrapRefreshToken: string;
}

export interface ConnectionTokensOptions {
  /** The Connection's metadata.name: errors name it (never a token). */
  readonly connectionName: string;
  readonly credentials: ConnectionCredentials;
  readonly tokenUrl: string;
  readonly store: TokenStore;
  readonly http: AxiosInstance;
  /** The token endpoint's limiter (1 request/second per client). */
  readonly limiter: RequestLimiter;
  readonly environment: AttemptEnvironment;
  /** Refresh this long before the access token expires (capped at a tenth of its lifetime). */
  readonly expiryMarginMs: number;
  readonly timeoutMs: number;
}

interface CachedAccessToken {
  readonly token: string;
  /** When to stop using it: its expiry minus the margin (epoch ms). */
  readonly refreshAt: number;
}

/** What a token answer holds, parsed; nothing is checked yet but the types. */
interface TokenGrant {
  readonly accessToken: string | undefined;
  readonly expiresInMs: number;
  readonly refreshToken: string | undefined;
}

/** A token answer once stored: when it was issued, and whether it rotated the refresh token. */
interface StoredGrant {
  readonly accessToken: string;
  readonly expiresInMs: number;
  readonly issuedAt: number;
  readonly rotated: boolean;
}

/** A token answer handed to the store: `saved` settles when the store's `save` does. */
interface KeptGrant extends Omit<StoredGrant, 'accessToken'> {
  readonly accessToken: string | undefined;
  readonly saved: Promise<void>;
}

/**
 * The access token of one connection: cached in memory and in the TokenStore until shortly before it
 * expires, refreshed with the newest refresh token.
 *
 * Contract (API-NOTES.md "Endpoints and auth"):
 * - one refresh in flight per connection in this process (single flight), and inside the store's
 *   `withRefreshLock` across processes; inside the lock the store is re-read, because another holder
 *   may have refreshed already;
 * - the stored chain is used only if its `bootstrapFingerprint` matches the manifest's bootstrap token;
 *   otherwise the user re-authorised, and the bootstrap token starts a new chain;
 * - a token answer is stored by one call of the store's `save` in the same turn it is parsed, before
 *   the attempt is logged or reported and before the access token is used: Constant Contact has
 *   invalidated the old refresh token by then, and a crash before the save would keep only that one
 *   (issue #13). What remains is the answer lost in the air: README "Rotated refresh tokens";
 * - `invalid_grant` becomes an AuthError (code `reauthorization-required`) that names the connection.
 */
export class ConnectionTokens {
  private cached: CachedAccessToken | undefined;
  private inflight: Promise<string> | undefined;
  private readonly fingerprint: string;
  private readonly request: RequestDescription;

  constructor(private readonly options: ConnectionTokensOptions) {
    this.fingerprint = refreshTokenFingerprint(options.credentials.bootstrapRefreshToken);
    const path = new URL(options.tokenUrl).pathname;
    this.request = { method: 'POST', pathTemplate: path, path };
  }

  /** A valid access token: the cached one, the stored one, or a fresh one. */
  accessToken(): Promise<string> {
    const now = this.options.environment.clock.now();
    if (this.cached && this.cached.refreshAt > now) return Promise.resolve(this.cached.token);
    return this.refresh();
  }

  /**
   * Gets a new access token (single flight). `rejected` is an access token the API refused (401):
   * it is never handed out again, even if the store still holds it.
   */
  refresh(rejected?: string): Promise<string> {
    const now = this.options.environment.clock.now();
    if (this.cached && (this.cached.token === rejected || this.cached.refreshAt <= now))
      this.cached = undefined;
    if (this.cached) return Promise.resolve(this.cached.token);
    if (!this.inflight) {
      this.inflight = this.options.store
        .withRefreshLock(() => this.refreshLocked(rejected))
        .finally(() => {
          this.inflight = undefined;
        });
    }
    return this.inflight;
  }

  private async refreshLocked(rejected: string | undefined): Promise<string> {
    const { store, environment } = this.options;
    const stored = await store.load();
    const chain = stored?.bootstrapFingerprint === this.fingerprint ? stored : undefined;
    const now = environment.clock.now();
    if (
      chain?.accessToken !== undefined &&
      chain.accessTokenExpiresAt !== undefined &&
      chain.accessToken !== rejected
    ) {
      // updatedAt is when the chain last rotated, usually when this access token was issued; for a
      // long-lived refresh token it is older, the lifetime looks longer, and the margin is the cap.
      const lifetime = Math.max(0, chain.accessTokenExpiresAt - chain.updatedAt);
      const refreshAt = chain.accessTokenExpiresAt - this.margin(lifetime);
      if (refreshAt > now) {
        // Another process (or an earlier run) refreshed: use its token.
        this.cached = { token: chain.accessToken, refreshAt };
        return chain.accessToken;
      }
    }
    const usedRefreshToken = chain?.refreshToken ?? this.options.credentials.bootstrapRefreshToken;
    environment.logger?.info(
      { connection: this.options.connectionName, chain: chain ? 'stored' : 'bootstrap' },
      'refreshing the Constant Contact access token',
    );
    const grant = await this.requestToken(usedRefreshToken, chain);
    if (grant.rotated)
      environment.logger?.info(
        { connection: this.options.connectionName },
        'refresh token rotated and stored',
      );
    this.cached = {
      token: grant.accessToken,
      refreshAt: grant.issuedAt + grant.expiresInMs - this.margin(grant.expiresInMs),
    };
    return grant.accessToken;
  }

  private margin(lifetimeMs: number): number {
    return Math.min(this.options.expiryMarginMs, lifetimeMs / 10);
  }

  /**
   * One refresh with `refreshToken`, whose answer is stored by {@link keepGrant} inside `send`: the
   * first thing done once the answer is parsed, before the attempt is reported (log line, event) and
   * before the access token can be used. Rejects when the answer holds no access token (what it
   * held of a new refresh token is stored first all the same).
   */
  private async requestToken(refreshToken: string, chain: StoredTokens | undefined): Promise<StoredGrant> {
    const { credentials, http, tokenUrl, timeoutMs } = this.options;
    const basic = Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64');
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
    // Set inside `send`, which TypeScript's flow analysis does not follow.
    let kept = undefined as KeptGrant | undefined;
    const response = await sendWithRetries(
      {
        endpoint: 'token',
        request: this.request,
        // A refresh whose answer was lost may have rotated the token already; retrying is still the
        // only way on (the old token then fails with invalid_grant, which asks for re-authorisation).
        idempotent: true,
        limiter: this.options.limiter,
        attemptTimeoutMs: timeoutMs,
        send: async (attemptTimeoutMs) => {
          const answer = await http.request({
            method: 'POST',
            url: tokenUrl,
            data: body,
            timeout: attemptTimeoutMs(),
            headers: {
              Authorization: `Basic ${basic}`,
              'Content-Type': 'application/x-www-form-urlencoded',
              Accept: 'application/json',
            },
          });
          if (answer.status >= 200 && answer.status < 300) {
            kept = this.keepGrant(parseGrant(answer.data), refreshToken, chain);
            await kept.saved;
          }
          return answer;
        },
        toError: (failure) => this.tokenError(failure),
      },
      this.options.environment,
    );
    if (kept?.accessToken === undefined) {
      throw new ConstantContactError(
        'unexpected-response',
        `The token endpoint's answer for connection "${this.options.connectionName}" has no access_token`,
        { request: this.request, status: response.status },
      );
    }
    const { accessToken, expiresInMs, issuedAt, rotated } = kept;
    return { accessToken, expiresInMs, issuedAt, rotated };
  }

  /**
   * Stores a token answer with one call of the store's `save`, made synchronously here: Constant
   * Contact has already invalidated `usedRefreshToken`, so until the new one is stored a crash
   * (`kill -9`) loses the connection's authorisation. Nothing may run before this call: no await,
   * no log line, no event.
   */
  private keepGrant(grant: TokenGrant, usedRefreshToken: string, chain: StoredTokens | undefined): KeptGrant {
    const issuedAt = this.options.environment.clock.now();
    const rotated = grant.refreshToken !== undefined && grant.refreshToken !== usedRefreshToken;
    const tokens: StoredTokens = {
      refreshToken: grant.refreshToken ?? usedRefreshToken,
      ...(grant.accessToken === undefined
        ? {}
        : { accessToken: grant.accessToken, accessTokenExpiresAt: issuedAt + grant.expiresInMs }),
      bootstrapFingerprint: this.fingerprint,
      updatedAt: rotated || !chain ? issuedAt : chain.updatedAt,
    };
    // An answer with neither a new refresh token nor an access token changes nothing worth a write.
    const saved =
      rotated || grant.accessToken !== undefined ? this.options.store.save(tokens) : Promise.resolve();
    return { accessToken: grant.accessToken, expiresInMs: grant.expiresInMs, issuedAt, rotated, saved };
  }

  private tokenError(failure: FinalFailure): ConstantContactError {
    const name = this.options.connectionName;
    const options = {
      request: this.request,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      ...errorText(failure),
      attempts: failure.attempts,
      sentAt: failure.sentAt,
      context: { connection: name },
    };
    const key = failure.errorKey ?? '';
    if (key.includes('invalid_grant')) {
      return new AuthError(
        'reauthorization-required',
        `Constant Contact refused the refresh token of connection "${name}" (invalid_grant): it was revoked, expired after 180 days unused, or already used. Re-authorise the connection.`,
        { ...options, hint: this.reauthorizeHint() },
      );
    }
    if (key.includes('invalid_client') || failure.status === 401) {
      return new AuthError(
        'invalid-client',
        `Constant Contact refused the client ID or secret of connection "${name}" (${key || `HTTP ${failure.status}`})`,
        {
          ...options,
          hint: `check the values spec.auth.clientId and spec.auth.clientSecret of connection "${name}" refer to`,
        },
      );
    }
    if (failure.kind === 'client-error') {
      return new AuthError(
        'token-request-failed',
        `The token endpoint refused the refresh of connection "${name}" (HTTP ${failure.status}${key ? ` ${key}` : ''})`,
        { ...options, hint: this.reauthorizeHint() },
      );
    }
    const what =
      failure.status === undefined
        ? `no answer (${failure.networkCode ?? failure.kind})`
        : `HTTP ${failure.status}`;
    const outOfTime =
      failure.outOfTimeMs === undefined
        ? ''
        : `; its request timeout of ${secondsText(failure.outOfTimeMs)} left no time to retry`;
    return new ConstantContactError(
      'token-request-failed',
      `The token endpoint did not refresh connection "${name}" after ${failure.attempts} attempt${failure.attempts === 1 ? '' : 's'}: ${what}${outOfTime}`,
      {
        ...options,
        hint: `check that ${new URL(this.options.tokenUrl).origin} (spec.endpoints.token of connection "${name}") is reachable from here, then try again; a slow network may need a longer request timeout (exportctl --request-timeout)`,
      },
    );
  }

  private reauthorizeHint(): string {
    const name = this.options.connectionName;
    const sandbox = isLoopbackHost(new URL(this.options.tokenUrl).hostname)
      ? ` Against a local sandbox that was restarted: run exportctl connection reauthorize ${name} (it drops the tokens exportctl stored, so the bootstrap token is used again), and start the sandbox with --state-file so that it keeps its tokens next time.`
      : '';
    return `authorise exportctl again in Constant Contact (scopes contact_data offline_access), store the new refresh token where spec.auth.refreshToken of connection "${name}" points, and run again.${sandbox}`;
  }
}

/** The fields of a token endpoint answer, without judging them (a missing access token included). */
function parseGrant(data: unknown): TokenGrant {
  const fields = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const { access_token: accessToken, expires_in: expiresIn, refresh_token: refreshToken } = fields;
  return {
    accessToken: typeof accessToken === 'string' && accessToken !== '' ? accessToken : undefined,
    // Access tokens live 24 h (API-NOTES.md) when the answer does not say.
    expiresInMs: (typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : 86_400) * 1000,
    refreshToken: typeof refreshToken === 'string' && refreshToken !== '' ? refreshToken : undefined,
  };
}
