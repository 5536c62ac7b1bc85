import type { StateSerial } from '../state-serial';
import type { StateStore } from '../state-store';
import { SqliteConnectionTokens, type TokenLockOptions } from './sqlite-connection-tokens';
import { type SecretKeySource, SqliteEncryption } from './sqlite-encryption';
import { type SqliteLockOptions, SqliteLockStore } from './sqlite-lock-store';
import type { SqliteDatabase } from './sqlite-migrations';
import { requestPermitsPath, SqliteRequestPermits } from './sqlite-request-permits';
import { SqliteResourceStore } from './sqlite-resource-store';
import { SqliteRunHistory } from './sqlite-run-history';
import { SqliteSecretStore } from './sqlite-secret-store';
import type { SqliteStateContext } from './sqlite-state-context';
import { readStateSerial } from './sqlite-state-serial';
import { SqliteStateTransfer } from './sqlite-state-transfer';

export interface SqliteStateStoreParts {
  readonly context: SqliteStateContext;
  readonly keySource: SecretKeySource;
  readonly locks: SqliteLockOptions;
  readonly tokenLocks: TokenLockOptions;
}

/**
 * The state in one SQLite database (better-sqlite3), already migrated: build it with
 * `openStateStore`. Besides the {@link StateStore} interface it gives modules that own tables in
 * the same database (the run engine's snapshots and checkpoints) the database itself, via
 * {@link SqliteStateStore.sqlite}.
 */
export class SqliteStateStore implements StateStore {
  readonly backend = 'sqlite';
  readonly location: string;
  readonly resources: SqliteResourceStore;
  readonly secrets: SqliteSecretStore;
  readonly tokens: SqliteConnectionTokens;
  readonly locks: SqliteLockStore;
  readonly runs: SqliteRunHistory;
  /** The control plane's half of `exportctl state migrate` (see {@link SqliteStateTransfer}). */
  readonly transfer: SqliteStateTransfer;
  /**
   * Where Constant Contact request permits are reserved by every process using this state (a side
   * file, `<state>-rate-limits`); undefined for an in-memory state, which no other process sees.
   */
  readonly requestPermits: SqliteRequestPermits | undefined;
  private readonly context: SqliteStateContext;

  constructor(parts: SqliteStateStoreParts) {
    this.context = parts.context;
    this.location = parts.context.location;
    const encryption = new SqliteEncryption(parts.context, parts.keySource);
    this.resources = new SqliteResourceStore(parts.context);
    this.secrets = new SqliteSecretStore(parts.context, encryption);
    this.locks = new SqliteLockStore(parts.context, parts.locks);
    this.tokens = new SqliteConnectionTokens(parts.context, encryption, this.locks, parts.tokenLocks);
    this.runs = new SqliteRunHistory(parts.context);
    this.transfer = new SqliteStateTransfer(parts.context, encryption);
    const db = parts.context.database();
    this.requestPermits = db.memory ? undefined : new SqliteRequestPermits(requestPermitsPath(db.name));
  }

  /**
   * The better-sqlite3 database, for modules that own tables in it (added through
   * `sqliteStateMigrations`) and need bulk SQL on them: prepared statements and `db.transaction`.
   * Contract: touch only your own tables (the control-plane ones are this module's, reached through
   * the interface); keep write transactions short (they block other processes' writers, up to the
   * busy timeout); never change pragmas or close it. Throws `state-closed` after {@link close}.
   */
  get sqlite(): SqliteDatabase {
    return this.context.database();
  }

  async serial(): Promise<StateSerial> {
    return readStateSerial(this.context.database());
  }

  async close(): Promise<void> {
    if (!this.context.isOpen) return;
    this.locks.releaseAll();
    this.requestPermits?.close();
    this.context.close();
  }
}
