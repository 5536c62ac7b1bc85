import type { ConnectionEndpoints, ConnectionLimits, ProfileSourceSpec } from '../config';
import type { TokenStore } from '../constant-contact/token-store';

/** Everything needed to call Constant Contact as one connection, secrets resolved. */
export interface ConnectionRuntime {
  /** The Connection's metadata.name. */
  readonly name: string;
  readonly endpoints: ConnectionEndpoints;
  readonly limits: ConnectionLimits;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The manifest's bootstrap refresh token; rotated ones live in `tokens`. */
  readonly bootstrapRefreshToken: string;
  readonly tokens: TokenStore;
}

/** What Constant Contact says about a list. */
export interface ListFacts {
  readonly id: string;
  readonly name: string;
  readonly membershipCount: number | undefined;
}

/** What Constant Contact says about a custom field: its name (after `cf:` in an import) and type. */
export interface CustomFieldFacts {
  readonly name: string;
  /** As Constant Contact gives it: `string`, `date`, … */
  readonly type: string;
}

/**
 * The Constant Contact calls the resource handlers make. The Constant Contact client implements
 * it; tests may pass a fake. Errors are the client's (`AuthError`, `ConstantContactError`, ...).
 */
export interface ConstantContactAccess {
  /**
   * Proves the credentials work with one authenticated request (obtaining or refreshing a token as
   * needed, and persisting a rotated refresh token through `connection.tokens`).
   */
  verifyAccess(connection: ConnectionRuntime): Promise<void>;
  /** The list, or undefined when Constant Contact answers 404. */
  getList(connection: ConnectionRuntime, listId: string): Promise<ListFacts | undefined>;
  /**
   * Every custom field of the connection's account (`GET /contact_custom_fields`, paged), listed
   * once per connection for all the destinations that map custom fields.
   */
  customFields(connection: ConnectionRuntime): Promise<readonly CustomFieldFacts[]>;
}

/** Checks a profile source without reading its data: files, tables, columns. */
export interface SourceInspector {
  /**
   * Why the source cannot serve these fields (one sentence per problem), or an empty list. Reads
   * headers, `PRAGMA table_info` and the like, never the whole data.
   */
  problems(spec: ProfileSourceSpec, requiredFields: readonly string[]): Promise<string[]>;
}
