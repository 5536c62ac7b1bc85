import type { ConnectionTokens } from './connection-tokens';
import type { LockStore } from './lock-store';
import type { ResourceStore } from './resource-store';
import type { RunHistory } from './run-history';
import type { SecretStore } from './secret-store';
import type { StateSerial } from './state-serial';

/**
 * The control plane's state (DESIGN.md "State"): applied resources, secrets, OAuth tokens, locks and
 * run history. Every method is async so that a networked implementation (PostgreSQL) can follow
 * without changing callers; the SQLite one completes synchronously inside.
 */
export interface StateStore {
  /**
   * Which backend holds it (`sqlite`, `postgres`): the key of the wiring's backend registry, which
   * pairs each state with the run store that goes with it. Nothing else asks.
   */
  readonly backend: string;
  /** Where the state is, for messages: a file path, `:memory:`, or a URL without credentials. */
  readonly location: string;
  readonly resources: ResourceStore;
  readonly secrets: SecretStore;
  readonly tokens: ConnectionTokens;
  readonly locks: LockStore;
  readonly runs: RunHistory;
  /** The state's lineage and serial, as of the last committed change (see {@link StateSerial}). */
  serial(): Promise<StateSerial>;
  /** Releases the locks this store holds and closes it; later calls throw `state-closed`. */
  close(): Promise<void>;
}
