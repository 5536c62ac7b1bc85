import type pg from 'pg';
import { SecretCipher } from '../secret-cipher';
import { parseSecretKey, SECRET_KEY_ENV } from '../secret-key';
import { SecretKeyError } from '../state-errors';
import type { PostgresStateContext } from './postgres-state-context';

const KEY_CHECK = 'secret-key-check';

/**
 * The cipher of one PostgreSQL state. The key comes from EXPORTCTL_SECRET_KEY only: a networked
 * state has no folder for a key file, and a key minted on one machine would be unknown to the
 * others. It is loaded on first use (a fingerprint, a secret or token write or read), which comes
 * before any write of the change that needs it: without it, `secret-key-missing` says so and
 * nothing was written. As in SQLite, the key's check value is recorded with the first encrypted
 * write and compared on every load (`secret-key-mismatch`).
 */
export class PostgresEncryption {
  private cipher: SecretCipher | undefined;

  constructor(
    private readonly context: PostgresStateContext,
    private readonly key: string | undefined,
  ) {}

  /** The checked cipher; throws `SecretKeyError` when the key is malformed, wrong or missing. */
  async load(): Promise<SecretCipher> {
    if (this.cipher !== undefined) return this.cipher;
    if (this.key === undefined) {
      throw new SecretKeyError(
        'secret-key-missing',
        `the PostgreSQL state at ${this.context.location} needs ${SECRET_KEY_ENV} to encrypt and read secrets ` +
          'and tokens (a shared state has no key file); nothing was written',
        {
          context: { location: this.context.location },
          hint: `set ${SECRET_KEY_ENV} to the state's 32-byte key (base64 or hex; make one with: openssl rand -base64 32) on every machine that uses this state, e.g. from the CI secret store`,
        },
      );
    }
    const cipher = new SecretCipher(parseSecretKey(this.key, SECRET_KEY_ENV));
    const stored = await this.context.reachable(() => this.storedKeyCheck(this.context.pool()), true);
    if (stored !== undefined && stored !== cipher.keyCheck) throw this.mismatch();
    this.cipher = cipher;
    return cipher;
  }

  /** Decrypts; a failure is `secret-key-mismatch` when another key was recorded since, else the cipher's. */
  async decrypt(blob: Uint8Array, aad: string): Promise<string> {
    const cipher = await this.load();
    try {
      return cipher.decrypt(blob, aad);
    } catch (error) {
      const stored = await this.context.reachable(() => this.storedKeyCheck(this.context.pool()), true);
      if (stored !== undefined && stored !== cipher.keyCheck) throw this.mismatch();
      throw error;
    }
  }

  /** Inside every encrypted write's transaction: records the check value, or fails on another key. */
  async recordKeyCheck(client: pg.ClientBase, cipher: SecretCipher): Promise<void> {
    await client.query('INSERT INTO state_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [
      KEY_CHECK,
      cipher.keyCheck,
    ]);
    if ((await this.storedKeyCheck(client)) !== cipher.keyCheck) throw this.mismatch();
  }

  private async storedKeyCheck(client: pg.Pool | pg.ClientBase): Promise<string | undefined> {
    const { rows } = await client.query<{ value: string }>('SELECT value FROM state_meta WHERE key = $1', [
      KEY_CHECK,
    ]);
    return rows[0]?.value;
  }

  private mismatch(): SecretKeyError {
    return new SecretKeyError(
      'secret-key-mismatch',
      `the state at ${this.context.location} was encrypted with another key than the one from ${SECRET_KEY_ENV}; ` +
        `set ${SECRET_KEY_ENV} to the key used before`,
      {
        context: { location: this.context.location, keySource: 'env' },
        hint:
          'if that key is lost, its secrets and tokens cannot be recovered (and the state keeps refusing ' +
          'other keys): use another schema (?schema=NAME) and apply into it with fresh credentials',
      },
    );
  }
}
