import type { PostgresMigration } from './postgres-migrations';

/**
 * Lets `connection_secrets` hold a ProfileSource's database URL (name `databaseUrl`, owner
 * `ProfileSource/<name>`), as the SQLite state's `control-plane-4-source-secrets` does: the CHECK on
 * `name` is replaced by a wider one.
 */
export const sourceSecretsPostgresMigration: PostgresMigration = {
  id: 'control-plane-2-source-secrets',
  async up(client) {
    await client.query(`
      ALTER TABLE connection_secrets DROP CONSTRAINT IF EXISTS connection_secrets_name_check;
      ALTER TABLE connection_secrets ADD CONSTRAINT connection_secrets_name_check
        CHECK (name IN ('clientId', 'clientSecret', 'refreshToken', 'databaseUrl'));
    `);
  },
};
