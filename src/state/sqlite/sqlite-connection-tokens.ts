import type { StoredTokens, TokenStore } from '../../constant-contact/token-store';
import type { ConnectionTokens, TokenLockOptions } from '../connection-tokens';

export type { TokenLockOptions } from '../connection-tokens';

import { type LockStore, tokenLock } from '../lock-store';
import type { SqliteEncryption } from './sqlite-encryption';
import type { SqliteStateContext } from './sqlite-state-context';
import { bumpStateSerial } from './sqlite-state-serial';

/** The encrypted part of a connection's tokens. */
interface TokenSecrets {
  refreshToken: string;
  accessToken?: string;
  accessTokenExpiresAt?: number;
}

interface TokenRow {
  ciphertext: Uint8Array;
  bootstrap_fingerprint: string;
  updated_at: number;
}

/** {@link ConnectionTokens} on the `oauth_tokens` table and the `token:<connection>` locks. */
export class SqliteConnectionTokens implements ConnectionTokens {
  constructor(
    private readonly context: SqliteStateContext,
    private readonly encryption: SqliteEncryption,
    private readonly locks: LockStore,
    private readonly lockOptions: TokenLockOptions,
  ) {}

  forConnection(connection: string): TokenStore {
    return new SqliteTokenStore(this.context, this.encryption, this.locks, this.lockOptions, connection);
  }

  async delete(connection: string): Promise<boolean> {
    const db = this.context.database();
    return db
      .transaction(() => {
        const deleted =
          db.prepare('DELETE FROM oauth_tokens WHERE connection = ?').run(connection).changes > 0;
        // Which refresh token the connection uses next changed: a plan's drift check may differ.
        if (deleted) bumpStateSerial(db);
        return deleted;
      })
      .immediate();
  }
}

class SqliteTokenStore implements TokenStore {
  constructor(
    private readonly context: SqliteStateContext,
    private readonly encryption: SqliteEncryption,
    private readonly locks: LockStore,
    private readonly lockOptions: TokenLockOptions,
    private readonly connection: string,
  ) {}

  async load(): Promise<StoredTokens | undefined> {
    const row = this.context
      .database()
      .prepare('SELECT ciphertext, bootstrap_fingerprint, updated_at FROM oauth_tokens WHERE connection = ?')
      .get(this.connection) as TokenRow | undefined;
    if (row === undefined) return undefined;
    const secrets = JSON.parse(this.encryption.decrypt(row.ciphertext, this.aad())) as TokenSecrets;
    return {
      refreshToken: secrets.refreshToken,
      ...(secrets.accessToken === undefined ? {} : { accessToken: secrets.accessToken }),
      ...(secrets.accessTokenExpiresAt === undefined
        ? {}
        : { accessTokenExpiresAt: secrets.accessTokenExpiresAt }),
      bootstrapFingerprint: row.bootstrap_fingerprint,
      updatedAt: row.updated_at,
    };
  }

  async save(tokens: StoredTokens): Promise<void> {
    const cipher = this.encryption.load();
    const secrets: TokenSecrets = {
      refreshToken: tokens.refreshToken,
      ...(tokens.accessToken === undefined ? {} : { accessToken: tokens.accessToken }),
      ...(tokens.accessTokenExpiresAt === undefined
        ? {}
        : { accessTokenExpiresAt: tokens.accessTokenExpiresAt }),
    };
    const db = this.context.database();
    // Autocommit is not enough to record the key check with the row: one immediate transaction,
    // committed (synchronous=FULL) before this resolves, is the durability the TokenStore promises.
    db.transaction(() => {
      this.encryption.recordKeyCheck(cipher);
      db.prepare(
        `INSERT INTO oauth_tokens (connection, ciphertext, bootstrap_fingerprint, updated_at, saved_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (connection) DO UPDATE SET
           ciphertext = excluded.ciphertext, bootstrap_fingerprint = excluded.bootstrap_fingerprint,
           updated_at = excluded.updated_at, saved_at = excluded.saved_at`,
      ).run(
        this.connection,
        cipher.encrypt(JSON.stringify(secrets), this.aad()),
        tokens.bootstrapFingerprint,
        tokens.updatedAt,
        this.context.clock.now(),
      );
    }).immediate();
  }

  withRefreshLock<T>(refresh: () => Promise<T>): Promise<T> {
    return this.locks.withLock(
      tokenLock(this.connection),
      { identity: this.lockOptions.identity, command: `refresh the OAuth token of ${this.connection}` },
      { timeoutMs: this.lockOptions.timeoutMs },
      () => refresh(),
    );
  }

  private aad(): string {
    return `tokens:${this.connection}`;
  }
}
