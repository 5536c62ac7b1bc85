import nock from 'nock';
import { afterEach, beforeEach, expect } from 'vitest';
import {
  type ApiLogger,
  type ApiRequestEvent,
  ConstantContactClient,
  type ConstantContactClientOptions,
  MemoryTokenStore,
  RateLimiterRegistry,
  type StoredTokens,
  type TokenStore,
} from '../../src/constant-contact';
import { ScheduledClock } from './scheduled-clock';

/** Loopback origins nock answers for (net connect disabled): nothing here ever reaches a network. */
export const apiOrigin = 'http://127.0.0.1:9';
export const apiUrl = `${apiOrigin}/v3`;
export const authOrigin = 'http://127.0.0.2:9';
export const tokenPath = '/oauth2/default/v1/token';

/** Values that must never show up in an error, a log line or an event. */
export const secrets = {
  clientSecret: 'SECRET-client-secret',
  bootstrapRefreshToken: 'SECRET-bootstrap-refresh',
} as const;

export const listId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';

/** A token endpoint answer. */
export function grant(access: string, refresh?: string, expiresIn = 86_400) {
  return {
    access_token: access,
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: 'contact_data offline_access',
    ...(refresh ? { refresh_token: refresh } : {}),
  };
}

export interface NockedClient {
  readonly client: ConstantContactClient;
  readonly clock: ScheduledClock;
  readonly store: TokenStore;
  readonly events: ApiRequestEvent[];
  readonly logs: string[];
}

/** A client against the nock hosts, with a fake clock, its own limiter registry, and recorders. */
export function nockedClient(
  options: Partial<ConstantContactClientOptions> & { stored?: StoredTokens } = {},
): NockedClient {
  const clock = options.clock instanceof ScheduledClock ? options.clock : new ScheduledClock();
  const events: ApiRequestEvent[] = [];
  const logs: string[] = [];
  const record =
    (level: string) =>
    (object: Record<string, unknown>, message?: string): void => {
      logs.push(`${level} ${JSON.stringify(object)} ${message ?? ''}`);
    };
  const logger: ApiLogger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
  const store = options.tokenStore ?? new MemoryTokenStore(options.stored);
  const client = new ConstantContactClient({
    connectionName: 'marketing-cc',
    credentials: { clientId: 'client-id', ...secrets },
    tokenStore: store,
    endpoints: { api: apiUrl, token: `${authOrigin}${tokenPath}` },
    rateLimiters: new RateLimiterRegistry({ clock }),
    random: () => 1,
    onRequest: (event) => events.push(event),
    logger,
    ...options,
    clock,
  });
  return { client, clock, store, events, logs };
}

/** nock with the network closed, and every interceptor of a test used. */
export function useNock(): void {
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    const pending = nock.pendingMocks();
    nock.cleanAll();
    nock.enableNetConnect();
    expect(pending).toEqual([]);
  });
}
