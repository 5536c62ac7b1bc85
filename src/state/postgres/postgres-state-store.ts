import type pg from 'pg';
import type { ConnectionFaultRetryOptions } from '../../net';
import type { TokenLockOptions } from '../connection-tokens';
import type { StateSerial } from '../state-serial';
import type { StateStore } from '../state-store';
import { PostgresConnectionTokens } from './postgres-connection-tokens';
import { PostgresEncryption } from './postgres-encryption';
import { type PostgresLockOptions, PostgresLockStore } from './postgres-lock-store';
import { PostgresRequestPermits } from './postgres-request-permits';
import { PostgresResourceStore } from './postgres-resource-store';
import { PostgresRunHistory } from './postgres-run-history';
import { PostgresSecretStore } from './postgres-secret-store';
import type { PostgresStateContext } from './postgres-state-context';
import { readStateSerial } from './postgres-state-serial';
import { PostgresStateTransfer } from './postgres-state-transfer';
import type { PostgresLocation } from './postgres-state-url';

export interface PostgresStateStoreParts {
  readonly context: PostgresStateContext;
  /** EXPORTCTL_SECRET_KEY, if set. */
  readonly secretKey: string | undefined;
  readonly locks: PostgresLockOptions;
  readonly tokenLocks: TokenLockOptions;
}

/**
 * The state in one schema of a PostgreSQL database, already migrated: build it with
 * `openStateStore`. Besides the {@link StateStore} interface it gives modules that own tables in
 * the same schema (the run engine's) the pool, via {@link PostgresStateStore.pool}.
 */
export class PostgresStateStore implements StateStore {
  readonly backend = 'postgres';
  readonly location: string;
  readonly resources: PostgresResourceStore;
  readonly secrets: PostgresSecretStore;
  readonly tokens: PostgresConnectionTokens;
  readonly locks: PostgresLockStore;
  readonly runs: PostgresRunHistory;
  /** The control plane's half of `exportctl state migrate` (see {@link PostgresStateTransfer}). */
  readonly transfer: PostgresStateTransfer;
  /** Where Constant Contact request permits are reserved by every process using this state. */
  readonly requestPermits: PostgresRequestPermits;
  private readonly context: PostgresStateContext;

  constructor(parts: PostgresStateStoreParts) {
    this.context = parts.context;
    this.location = parts.context.location;
    const encryption = new PostgresEncryption(parts.context, parts.secretKey);
    this.resources = new PostgresResourceStore(parts.context);
    this.secrets = new PostgresSecretStore(parts.context, encryption);
    this.locks = new PostgresLockStore(parts.context, parts.locks);
    this.tokens = new PostgresConnectionTokens(parts.context, encryption, this.locks, parts.tokenLocks);
    this.runs = new PostgresRunHistory(parts.context);
    this.transfer = new PostgresStateTransfer(parts.context, encryption);
    this.requestPermits = new PostgresRequestPermits(parts.context);
  }

  /**
   * The pool, whose connections are on the state's schema, for modules that own tables in it
   * (added through `postgresStateMigrations`). Contract: touch only your own tables; never change
   * the search_path or end the pool. Throws `state-closed` after {@link close}.
   */
  get pool(): pg.Pool {
    return this.context.pool();
  }

  /** Where and how this store connects (with the password: never show it; `location` is for that). */
  get connectionSettings(): PostgresLocation {
    return this.context.settings;
  }

  /**
   * How work on this state is retried when its connection breaks (`retryConnectionFaults`), for the
   * modules that run their own statements on {@link pool}: they retry as the state's own stores do.
   */
  get faultRetry(): ConnectionFaultRetryOptions {
    return this.context.faultRetry;
  }

  /** The state's schema (the `schema` parameter of its URL). */
  get schema(): string {
    return this.context.settings.schema;
  }

  async serial(): Promise<StateSerial> {
    return readStateSerial(this.context.pool());
  }

  async close(): Promise<void> {
    if (!this.context.isOpen) return;
    await this.locks.releaseAll();
    await this.context.close();
  }
}
