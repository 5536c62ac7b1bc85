/** The secret references of a Connection's `spec.auth` whose resolved values the state keeps. */
export type ConnectionSecretName = 'clientId' | 'clientSecret' | 'refreshToken';

/**
 * Every name a stored secret may have: a connection's, and a ProfileSource's database URL
 * (`databaseUrl`, stored under the owner `ProfileSource/<name>`).
 */
export type SecretName = ConnectionSecretName | 'databaseUrl';

/** What may be shown about a stored secret: never its value. */
export interface StoredSecretInfo {
  readonly connection: string;
  readonly name: SecretName;
  /** See {@link SecretStore.fingerprint}. */
  readonly fingerprint: string;
  readonly updatedAt: number;
}

export interface PutSecretResult {
  readonly fingerprint: string;
  /** False when the stored value was already equal (nothing was written). */
  readonly changed: boolean;
}

/**
 * The resolved values of each connection's secret references, encrypted at rest (AES-256-GCM,
 * bound to connection and name). `refreshToken` here is the manifest's bootstrap token; rotated
 * tokens live in {@link ConnectionTokens}. Methods that need the key throw `SecretKeyError` when it
 * is malformed (`secret-key-invalid`), is not the one the state was encrypted with
 * (`secret-key-mismatch`) or is absent while encrypted values exist (`secret-key-missing`).
 */
export interface SecretStore {
  /**
   * The fingerprint of `value` (an HMAC keyed from the secret key): equal to the stored one exactly
   * when the stored value is equal, so a plan can print `(sensitive)` changes without decrypting.
   */
  fingerprint(value: string): Promise<string>;
  /** Stores `value` encrypted, with its fingerprint; durable when it resolves. */
  put(connection: string, name: SecretName, value: string): Promise<PutSecretResult>;
  /** The decrypted value, or undefined if none is stored. */
  get(connection: string, name: SecretName): Promise<string | undefined>;
  /** Fingerprints and times of the connection's stored secrets, sorted by name; needs no key. */
  describe(connection: string): Promise<StoredSecretInfo[]>;
  /** Deletes one secret, or all of the connection's when `name` is omitted; resolves the count. */
  delete(connection: string, name?: SecretName): Promise<number>;
}
