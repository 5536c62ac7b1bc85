import type { SqliteMigration } from './sqlite-migrations';

/**
 * The control plane's tables. Times are epoch milliseconds; JSON columns hold canonical JSON text.
 * Append new steps at the end of `sqliteStateMigrations`; never edit one that was released.
 */
export const controlPlaneMigrations: readonly SqliteMigration[] = [
  {
    id: 'control-plane-1-initial',
    up(db) {
      db.exec(`
        -- Facts about the state itself, e.g. the secret key's check value.
        CREATE TABLE state_meta (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT;

        CREATE TABLE resources (
          kind TEXT NOT NULL,
          name TEXT NOT NULL,
          owner TEXT NOT NULL CHECK (owner IN ('exportctl', 'pulumi')),
          spec TEXT NOT NULL,
          spec_hash TEXT NOT NULL,
          generation INTEGER NOT NULL CHECK (generation >= 1),
          conditions TEXT NOT NULL DEFAULT '[]',
          remote_facts TEXT,
          remote_facts_read_at INTEGER,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (kind, name)
        ) STRICT;
        CREATE INDEX resources_by_owner ON resources (owner, kind, name);

        -- Resolved values of a connection's secret references: AES-256-GCM, AAD secret:<connection>/<name>.
        CREATE TABLE connection_secrets (
          connection TEXT NOT NULL,
          name TEXT NOT NULL CHECK (name IN ('clientId', 'clientSecret', 'refreshToken')),
          ciphertext BLOB NOT NULL,
          fingerprint TEXT NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (connection, name)
        ) STRICT;

        -- Rotated OAuth tokens: AES-256-GCM of a JSON object, AAD tokens:<connection>.
        CREATE TABLE oauth_tokens (
          connection TEXT PRIMARY KEY,
          ciphertext BLOB NOT NULL,
          bootstrap_fingerprint TEXT NOT NULL,
          updated_at INTEGER NOT NULL,
          saved_at INTEGER NOT NULL
        ) STRICT;

        -- One row per held lock; token identifies the holding handle.
        CREATE TABLE locks (
          name TEXT PRIMARY KEY,
          token TEXT NOT NULL,
          identity TEXT NOT NULL,
          command TEXT NOT NULL,
          pid INTEGER NOT NULL,
          hostname TEXT NOT NULL,
          since INTEGER NOT NULL,
          heartbeat_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE runs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          destination TEXT NOT NULL,
          trigger_kind TEXT NOT NULL CHECK (trigger_kind IN ('manual', 'schedule', 'refresh')),
          actor TEXT,
          status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'paused', 'aborted')),
          started_at INTEGER NOT NULL,
          finished_at INTEGER,
          git_commit TEXT,
          record TEXT NOT NULL DEFAULT '{}'
        ) STRICT;
        CREATE INDEX runs_by_destination ON runs (destination, started_at DESC, id DESC);
        CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
      `);
    },
  },
];
