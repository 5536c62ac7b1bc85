import { randomBytes } from 'node:crypto';
import { SecretCipher } from '../secret-cipher';
import { createKeyFile, parseSecretKey, readKeyFile, SECRET_KEY_ENV } from '../secret-key';
import { SecretKeyError } from '../state-errors';
import type { SqliteStateContext } from './sqlite-state-context';

const KEY_CHECK = 'secret-key-check';

/** Where the key comes from: the environment, the key file beside the state, or (in memory) nowhere. */
export type SecretKeySource =
  | { readonly kind: 'env'; readonly value: string }
  | { readonly kind: 'key-file'; readonly path: string }
  | { readonly kind: 'ephemeral' };

/**
 * The cipher of one state, loaded on first use so commands that never touch secrets never need the
 * key. The key's check value is recorded with the first encrypted write and compared on every
 * load: a different key fails with `secret-key-mismatch` before anything is decrypted. A key file
 * is created only while the state holds no encrypted value (else `secret-key-missing`).
 */
export class SqliteEncryption {
  private cipher: SecretCipher | undefined;

  constructor(
    private readonly context: SqliteStateContext,
    private readonly source: SecretKeySource,
  ) {}

  /** The checked cipher; throws `SecretKeyError` when the key is malformed, wrong or missing. */
  load(): SecretCipher {
    if (this.cipher !== undefined) return this.cipher;
    const storedCheck = this.storedKeyCheck();
    const cipher = new SecretCipher(this.readKey(storedCheck !== undefined));
    if (storedCheck !== undefined && storedCheck !== cipher.keyCheck) throw this.mismatch();
    this.cipher = cipher;
    return cipher;
  }

  /**
   * Decrypts with the checked cipher. A failure is reported as `secret-key-mismatch` when another
   * process has since recorded a different key (it wrote first into an empty state), else as
   * `secret-undecryptable` (the row was altered or moved).
   */
  decrypt(blob: Uint8Array, aad: string): string {
    const cipher = this.load();
    try {
      return cipher.decrypt(blob, aad);
    } catch (error) {
      const stored = this.storedKeyCheck();
      if (stored !== undefined && stored !== cipher.keyCheck) throw this.mismatch();
      throw error;
    }
  }

  /**
   * Call inside the transaction of every encrypted write: records the key's check value if none is,
   * and fails the write if another process recorded a different key first.
   */
  recordKeyCheck(cipher: SecretCipher): void {
    const db = this.context.database();
    db.prepare('INSERT INTO state_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(
      KEY_CHECK,
      cipher.keyCheck,
    );
    if (this.storedKeyCheck() !== cipher.keyCheck) throw this.mismatch();
  }

  private storedKeyCheck(): string | undefined {
    const row = this.context
      .database()
      .prepare('SELECT value FROM state_meta WHERE key = ?')
      .get(KEY_CHECK) as { value: string } | undefined;
    return row?.value;
  }

  private readKey(stateHasSecrets: boolean): Buffer {
    switch (this.source.kind) {
      case 'env':
        return parseSecretKey(this.source.value, SECRET_KEY_ENV);
      case 'ephemeral':
        return randomBytes(32);
      case 'key-file': {
        const existing = readKeyFile(this.source.path);
        if (existing !== undefined) return existing;
        if (stateHasSecrets) {
          throw new SecretKeyError(
            'secret-key-missing',
            `the state at ${this.context.location} holds encrypted secrets, but ${SECRET_KEY_ENV} is not set ` +
              `and the key file ${this.source.path} does not exist`,
            {
              context: { location: this.context.location, keyFile: this.source.path },
              hint: `set ${SECRET_KEY_ENV} to the key used before, or restore ${this.source.path}`,
            },
          );
        }
        return createKeyFile(this.source.path);
      }
    }
  }

  private mismatch(): SecretKeyError {
    const from =
      this.source.kind === 'env'
        ? SECRET_KEY_ENV
        : this.source.kind === 'key-file'
          ? `the key file ${this.source.path}`
          : 'a new in-memory key';
    return new SecretKeyError(
      'secret-key-mismatch',
      `the state at ${this.context.location} was encrypted with another key than the one from ${from}; ` +
        `set ${SECRET_KEY_ENV} to the key used before`,
      {
        context: { location: this.context.location, keySource: this.source.kind },
        hint:
          'if that key is lost, its secrets and tokens cannot be recovered (and the state keeps refusing ' +
          'other keys): move this state aside or point --state at a new one, and apply into it with ' +
          'fresh credentials (re-authorise the connection for a new refresh token)',
      },
    );
  }
}
