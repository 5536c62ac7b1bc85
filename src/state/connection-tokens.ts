import type { TokenStore } from '../constant-contact/token-store';

/** The rotated OAuth tokens of every connection (encrypted at rest). */
export interface ConnectionTokens {
  /**
   * The TokenStore of one connection, for the Constant Contact client. Its `save` is a committed
   * transaction when it resolves; its `withRefreshLock` holds the `token:<connection>` lock, which
   * excludes other callers in this process and other processes sharing the state.
   */
  forConnection(connection: string): TokenStore;
  /** Deletes the connection's stored tokens (when the connection is destroyed); false if none. */
  delete(connection: string): Promise<boolean>;
}

export interface TokenLockOptions {
  /** The identity recorded as the refresh lock's holder. */
  readonly identity: string;
  /** How long a refresh waits for another one of the same connection (ms). */
  readonly timeoutMs: number;
}
