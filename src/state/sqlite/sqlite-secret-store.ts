import { secretAad } from '../secret-aad';
import type { PutSecretResult, SecretName, SecretStore, StoredSecretInfo } from '../secret-store';
import type { SqliteEncryption } from './sqlite-encryption';
import type { SqliteStateContext } from './sqlite-state-context';
import { bumpStateSerial } from './sqlite-state-serial';

interface SecretRow {
  ciphertext: Uint8Array;
  fingerprint: string;
}

/** {@link SecretStore} on the `connection_secrets` table. */
export class SqliteSecretStore implements SecretStore {
  constructor(
    private readonly context: SqliteStateContext,
    private readonly encryption: SqliteEncryption,
  ) {}

  async fingerprint(value: string): Promise<string> {
    return this.encryption.load().fingerprint(value);
  }

  async put(connection: string, name: SecretName, value: string): Promise<PutSecretResult> {
    const cipher = this.encryption.load();
    const fingerprint = cipher.fingerprint(value);
    const db = this.context.database();
    return db
      .transaction((): PutSecretResult => {
        const existing = db
          .prepare('SELECT fingerprint FROM connection_secrets WHERE connection = ? AND name = ?')
          .get(connection, name) as { fingerprint: string } | undefined;
        if (existing?.fingerprint === fingerprint) return { fingerprint, changed: false };
        this.encryption.recordKeyCheck(cipher);
        db.prepare(
          `INSERT INTO connection_secrets (connection, name, ciphertext, fingerprint, updated_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (connection, name) DO UPDATE SET
             ciphertext = excluded.ciphertext, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
        ).run(
          connection,
          name,
          cipher.encrypt(value, secretAad(connection, name)),
          fingerprint,
          this.context.clock.now(),
        );
        bumpStateSerial(db);
        return { fingerprint, changed: true };
      })
      .immediate();
  }

  async get(connection: string, name: SecretName): Promise<string | undefined> {
    const row = this.context
      .database()
      .prepare('SELECT ciphertext, fingerprint FROM connection_secrets WHERE connection = ? AND name = ?')
      .get(connection, name) as SecretRow | undefined;
    if (row === undefined) return undefined;
    return this.encryption.decrypt(row.ciphertext, secretAad(connection, name));
  }

  async describe(connection: string): Promise<StoredSecretInfo[]> {
    return this.context
      .database()
      .prepare(
        `SELECT connection, name, fingerprint, updated_at AS updatedAt FROM connection_secrets
         WHERE connection = ? ORDER BY name`,
      )
      .all(connection) as StoredSecretInfo[];
  }

  async delete(connection: string, name?: SecretName): Promise<number> {
    const db = this.context.database();
    return db
      .transaction(() => {
        const { changes } = db
          .prepare('DELETE FROM connection_secrets WHERE connection = ? AND (? IS NULL OR name = ?)')
          .run(connection, name ?? null, name ?? null);
        if (changes > 0) bumpStateSerial(db);
        return changes;
      })
      .immediate();
  }
}

export { secretAad } from '../secret-aad';
