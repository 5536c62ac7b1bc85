import type { StoredTokens, TokenStore } from '../../constant-contact/token-store';
import type { ConnectionTokens, TokenLockOptions } from '../connection-tokens';
import { type LockStore, tokenLock } from '../lock-store';
import { tokensAad } from '../secret-aad';
import type { PostgresEncryption } from './postgres-encryption';
import type { PostgresStateContext } from './postgres-state-context';
import { bumpStateSerial } from './postgres-state-serial';

interface TokenSecrets {
  refreshToken: string;
  accessToken?: string;
  accessTokenExpiresAt?: number;
}

/**
 * {@link ConnectionTokens} on the `oauth_tokens` table and the `token:<connection>` locks. A save is
 * a committed transaction when it resolves, so a rotation is what the next process reads, on any
 * machine; the refresh lock is the state's lock, which holds across machines.
 */
export class PostgresConnectionTokens implements ConnectionTokens {
  constructor(
    private readonly context: PostgresStateContext,
    private readonly encryption: PostgresEncryption,
    private readonly locks: LockStore,
    private readonly lockOptions: TokenLockOptions,
  ) {}

  forConnection(connection: string): TokenStore {
    return new PostgresTokenStore(this.context, this.encryption, this.locks, this.lockOptions, connection);
  }

  async delete(connection: string): Promise<boolean> {
    return this.context.transaction(async (client) => {
      const { rowCount } = await client.query('DELETE FROM oauth_tokens WHERE connection = $1', [connection]);
      const deleted = (rowCount ?? 0) > 0;
      // Which refresh token the connection uses next changed: a plan's drift check may differ.
      if (deleted) await bumpStateSerial(client);
      return deleted;
    });
  }
}

class PostgresTokenStore implements TokenStore {
  constructor(
    private readonly context: PostgresStateContext,
    private readonly encryption: PostgresEncryption,
    private readonly locks: LockStore,
    private readonly lockOptions: TokenLockOptions,
    private readonly connection: string,
  ) {}

  async load(): Promise<StoredTokens | undefined> {
    const { rows } = await this.context.query<{
      ciphertext: Buffer;
      bootstrap_fingerprint: string;
      updated_at: string;
    }>('SELECT ciphertext, bootstrap_fingerprint, updated_at FROM oauth_tokens WHERE connection = $1', [
      this.connection,
    ]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const secrets = JSON.parse(
      await this.encryption.decrypt(row.ciphertext, tokensAad(this.connection)),
    ) as TokenSecrets;
    return {
      refreshToken: secrets.refreshToken,
      ...(secrets.accessToken === undefined ? {} : { accessToken: secrets.accessToken }),
      ...(secrets.accessTokenExpiresAt === undefined
        ? {}
        : { accessTokenExpiresAt: secrets.accessTokenExpiresAt }),
      bootstrapFingerprint: row.bootstrap_fingerprint,
      updatedAt: Number(row.updated_at),
    };
  }

  async save(tokens: StoredTokens): Promise<void> {
    const cipher = await this.encryption.load();
    const secrets: TokenSecrets = {
      refreshToken: tokens.refreshToken,
      ...(tokens.accessToken === undefined ? {} : { accessToken: tokens.accessToken }),
      ...(tokens.accessTokenExpiresAt === undefined
        ? {}
        : { accessTokenExpiresAt: tokens.accessTokenExpiresAt }),
    };
    // Not serialized on the state's serial row: a rotation is no plan input, and must not wait for
    // an apply's transaction.
    await this.context.transaction(async (client) => {
      await this.encryption.recordKeyCheck(client, cipher);
      await client.query(
        `INSERT INTO oauth_tokens (connection, ciphertext, bootstrap_fingerprint, updated_at, saved_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (connection) DO UPDATE SET
           ciphertext = excluded.ciphertext, bootstrap_fingerprint = excluded.bootstrap_fingerprint,
           updated_at = excluded.updated_at, saved_at = excluded.saved_at`,
        [
          this.connection,
          cipher.encrypt(JSON.stringify(secrets), tokensAad(this.connection)),
          tokens.bootstrapFingerprint,
          tokens.updatedAt,
          this.context.clock.now(),
        ],
      );
    }, false);
  }

  withRefreshLock<T>(refresh: () => Promise<T>): Promise<T> {
    return this.locks.withLock(
      tokenLock(this.connection),
      { identity: this.lockOptions.identity, command: `refresh the OAuth token of ${this.connection}` },
      { timeoutMs: this.lockOptions.timeoutMs },
      () => refresh(),
    );
  }
}
