import type { SqliteMigration } from './sqlite-migrations';

/**
 * Lets `connection_secrets` hold a ProfileSource's database URL (name `databaseUrl`, owner
 * `ProfileSource/<name>`): a postgres source's URL may hold a password, and is kept encrypted as a
 * connection's secrets are. SQLite cannot alter a CHECK in place, so the table is rebuilt with the
 * wider one (no trigger or view refers to it); its rows, ciphertexts and fingerprints move as they
 * are (their AAD names the row, which does not change).
 */
export const sourceSecretsMigration: SqliteMigration = {
  id: 'control-plane-4-source-secrets',
  up(db) {
    db.exec(`
      CREATE TABLE connection_secrets_wider (
        connection TEXT NOT NULL,
        name TEXT NOT NULL CHECK (name IN ('clientId', 'clientSecret', 'refreshToken', 'databaseUrl')),
        ciphertext BLOB NOT NULL,
        fingerprint TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (connection, name)
      ) STRICT;
      INSERT INTO connection_secrets_wider (connection, name, ciphertext, fingerprint, updated_at)
        SELECT connection, name, ciphertext, fingerprint, updated_at FROM connection_secrets;
      DROP TABLE connection_secrets;
      ALTER TABLE connection_secrets_wider RENAME TO connection_secrets;
    `);
  },
};
