import { secretAad } from '../secret-aad';
import type { PutSecretResult, SecretName, SecretStore, StoredSecretInfo } from '../secret-store';
import type { PostgresEncryption } from './postgres-encryption';
import type { PostgresStateContext } from './postgres-state-context';
import { bumpStateSerial } from './postgres-state-serial';

/** {@link SecretStore} on the `connection_secrets` table. */
export class PostgresSecretStore implements SecretStore {
  constructor(
    private readonly context: PostgresStateContext,
    private readonly encryption: PostgresEncryption,
  ) {}

  async fingerprint(value: string): Promise<string> {
    return (await this.encryption.load()).fingerprint(value);
  }

  async put(connection: string, name: SecretName, value: string): Promise<PutSecretResult> {
    const cipher = await this.encryption.load();
    const fingerprint = cipher.fingerprint(value);
    return this.context.transaction(async (client): Promise<PutSecretResult> => {
      const { rows } = await client.query<{ fingerprint: string }>(
        'SELECT fingerprint FROM connection_secrets WHERE connection = $1 AND name = $2',
        [connection, name],
      );
      if (rows[0]?.fingerprint === fingerprint) return { fingerprint, changed: false };
      await this.encryption.recordKeyCheck(client, cipher);
      await client.query(
        `INSERT INTO connection_secrets (connection, name, ciphertext, fingerprint, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (connection, name) DO UPDATE SET
           ciphertext = excluded.ciphertext, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
        [
          connection,
          name,
          cipher.encrypt(value, secretAad(connection, name)),
          fingerprint,
          this.context.clock.now(),
        ],
      );
      await bumpStateSerial(client);
      return { fingerprint, changed: true };
    });
  }

  async get(connection: string, name: SecretName): Promise<string | undefined> {
    const { rows } = await this.context.query<{ ciphertext: Buffer }>(
      'SELECT ciphertext FROM connection_secrets WHERE connection = $1 AND name = $2',
      [connection, name],
    );
    const row = rows[0];
    return row === undefined
      ? undefined
      : this.encryption.decrypt(row.ciphertext, secretAad(connection, name));
  }

  async describe(connection: string): Promise<StoredSecretInfo[]> {
    const { rows } = await this.context.query<{
      connection: string;
      name: SecretName;
      fingerprint: string;
      updated_at: string;
    }>(
      `SELECT connection, name, fingerprint, updated_at FROM connection_secrets
       WHERE connection = $1 ORDER BY name COLLATE "C"`,
      [connection],
    );
    return rows.map((row) => ({
      connection: row.connection,
      name: row.name,
      fingerprint: row.fingerprint,
      updatedAt: Number(row.updated_at),
    }));
  }

  async delete(connection: string, name?: SecretName): Promise<number> {
    return this.context.transaction(async (client) => {
      const { rowCount } = await client.query(
        'DELETE FROM connection_secrets WHERE connection = $1 AND ($2::text IS NULL OR name = $2)',
        [connection, name ?? null],
      );
      const changes = rowCount ?? 0;
      if (changes > 0) await bumpStateSerial(client);
      return changes;
    });
  }
}
