/**
 * The OAuth tokens of one connection as the state store keeps them (encrypted at rest).
 *
 * Constant Contact may rotate refresh tokens: each refresh returns a new one and invalidates every
 * earlier one (API-NOTES.md). So the newest refresh token must be durable before it is used again,
 * and only one refresh may be in flight per connection, across processes too.
 */
export interface StoredTokens {
  /** The refresh token to use next. */
  readonly refreshToken: string;
  /** The cached access token and when it expires (epoch ms), if one is held. */
  readonly accessToken?: string;
  readonly accessTokenExpiresAt?: number;
  /**
   * Fingerprint of the bootstrap refresh token (the manifest's reference) this chain started from.
   * When the manifest's bootstrap value changes (the user re-authorised), it replaces the stored chain.
   */
  readonly bootstrapFingerprint: string;
  /** When refreshToken was last replaced (epoch ms). */
  readonly updatedAt: number;
}

/**
 * Where a connection's tokens persist. The Constant Contact client calls it; the state store
 * implements it (one per connection). Implementations must make `save` durable before it resolves.
 */
export interface TokenStore {
  /** The stored tokens, or undefined if none were stored yet. */
  load(): Promise<StoredTokens | undefined>;
  /**
   * Stores tokens; resolves only once they are durable (a crash after this keeps them). The client
   * calls it the moment a token answer is parsed, and nothing of the client runs before it settles;
   * an implementation that can (SQLite) writes synchronously within the call, so that no other
   * code of the process runs between the answer and the write either.
   */
  save(tokens: StoredTokens): Promise<void>;
  /**
   * Runs `refresh` while holding this connection's refresh lock, which excludes other refreshes of
   * the same connection in this process and in other processes sharing the store. Inside, callers
   * re-`load()` first: another holder may already have refreshed.
   */
  withRefreshLock<T>(refresh: () => Promise<T>): Promise<T>;
}

/** A TokenStore in memory, for a single process (tests, the sandbox demo without state). */
export class MemoryTokenStore implements TokenStore {
  private tokens: StoredTokens | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(initial?: StoredTokens) {
    this.tokens = initial;
  }

  async load(): Promise<StoredTokens | undefined> {
    return this.tokens;
  }

  async save(tokens: StoredTokens): Promise<void> {
    this.tokens = tokens;
  }

  withRefreshLock<T>(refresh: () => Promise<T>): Promise<T> {
    const run = this.tail.then(refresh, refresh);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
