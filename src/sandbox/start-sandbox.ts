import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { UsageError } from '../errors';
import { isLoopbackHost } from '../net';
import { type ActivityTiming, SandboxAccount } from './sandbox-account';
import { errorBody, SandboxApi, type SandboxApiLimits } from './sandbox-api';
import { type SandboxFaultRates, SandboxFaults } from './sandbox-faults';
import { SandboxOAuth } from './sandbox-oauth';
import { defaultSeedFile, readSandboxSeed, type SandboxSeed, writeSandboxState } from './sandbox-seed';
import { type LoggedRequest, SandboxTraffic, type TrafficStats } from './sandbox-traffic';
import { seededRandom } from './seeded-random';

export interface SandboxOptions {
  /** 0 (default): a free port. */
  readonly port?: number;
  /** A loopback address; default 127.0.0.1. Nothing else is allowed. */
  readonly host?: string;
  /** The data to start from; default the file `seedFile` names, or the quickstart's seed. */
  readonly seed?: SandboxSeed;
  readonly seedFile?: string;
  /**
   * Keep the state (refresh tokens, lists, contacts) in this file: loaded at start when it exists
   * (instead of the seed), written atomically after every token grant and list creation and on close.
   * A restarted sandbox then still accepts the refresh token exportctl stored.
   */
  readonly stateFile?: string;
  /** Replaces these limits of every client, whether from the seed or the state file. */
  readonly clientLimits?: { readonly requestsPerSecond?: number; readonly requestsPerDay?: number };
  /** Epoch ms; default Date.now. Drives token expiry, rate windows and activity progress. */
  readonly now?: () => number;
  /** Seed of the PRNG for IDs (lists, activities, the account's contact ID prefix). */
  readonly randomSeed?: number;
  /** Access token lifetime; default 86,400 s like Constant Contact's. */
  readonly accessTokenTtlSeconds?: number;
  /** Rotating refresh tokens; default true. */
  readonly rotateRefreshTokens?: boolean;
  readonly activityTiming?: Partial<ActivityTiming>;
  readonly faults?: SandboxFaultRates;
  readonly limits?: Partial<SandboxApiLimits>;
  /** How many recent requests `GET /__sandbox/requests` keeps; default 10,000. */
  readonly requestLogLimit?: number;
}

/** A running sandbox. */
export interface SandboxHandle {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The API base URL, `<url>/v3`: a Connection's `spec.endpoints.api`. */
  readonly apiUrl: string;
  /** The token endpoint, `<url>/oauth2/default/v1/token`: `spec.endpoints.token`. */
  readonly tokenUrl: string;
  readonly port: number;
  /** The account's data, for tests that look inside. */
  readonly account: SandboxAccount;
  stats(): TrafficStats;
  requests(limit?: number): LoggedRequest[];
  /** Answers being held back by the `slow` or `tokenSlow` fault right now (carried out, not yet sent). */
  held(): HeldAnswer[];
  setFaults(rates: SandboxFaultRates): void;
  /** Changes a client's limits (every client's without `clientId`); false if there is no such client. */
  setClientLimits(
    clientId: string | undefined,
    limits: { readonly requestsPerSecond?: number; readonly requestsPerDay?: number },
  ): boolean;
  /** Revokes every access token (clients get 401 and must refresh). */
  revokeAccessTokens(): void;
  /** Stops serving; with a state file, finishes pending activities and saves first. */
  close(): Promise<void>;
}

/** An answer the sandbox is holding back (the `slow` fault): its request was carried out already. */
export interface HeldAnswer {
  /** Epoch ms of the request's arrival. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** As in the request log: `POST /v3/activities/contacts_json_import`, or `token`. */
  readonly route: string;
  readonly status: number;
  readonly clientId?: string;
  /** Epoch ms at which the answer is sent. */
  readonly until: number;
}

const apiBasePath = '/v3';
const tokenPath = '/oauth2/default/v1/token';
const inspectionPath = '/__sandbox';
const maxBodyBytes = 64 * 1024 * 1024;

const activityTimingDefaults = {
  startDelayMs: 100,
  baseDurationMs: 200,
  perItemMs: 0.01,
} as const satisfies ActivityTiming;

const apiLimitDefaults = {
  maxImportContacts: 40_000,
  importByteLimit: 4_000_000,
} as const satisfies SandboxApiLimits;

/** Bodies Constant Contact sends for its limits and auth failures: single objects, not arrays. */
const throttledBody = {
  error_key: 'throttled',
  error_message: 'Too many requests: more than the requests per second allowed for this API key.',
};
const quotaBody = {
  error_key: 'quota_exceeded',
  error_message: 'Too many requests: the daily request quota for this API key is used up until 00:00 UTC.',
};
const unauthorizedBody = { error_key: 'unauthorized', error_message: 'Unauthorized' };

/**
 * Starts a local Constant Contact V3 simulator on a loopback address: the token endpoint, the
 * endpoints exportctl uses (validated against the swagger), CC's limits and error bodies, fault
 * injection, and an inspection API under `/__sandbox/`. In memory; see `stateFile` to persist.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host))
    throw new UsageError('sandbox-host', `The sandbox listens on loopback only, not ${host}`);
  const now = options.now ?? Date.now;
  const loaded =
    options.stateFile && existsSync(options.stateFile)
      ? readSandboxSeed(options.stateFile)
      : (options.seed ?? readSandboxSeed(options.seedFile ?? defaultSeedFile()));
  const seed: SandboxSeed = {
    ...loaded,
    clients: loaded.clients.map((client) => ({
      ...client,
      limits: { ...client.limits, ...options.clientLimits },
    })),
  };
  const random = seededRandom(options.randomSeed ?? 20261122);
  const account = new SandboxAccount(
    seed,
    random,
    { ...activityTimingDefaults, ...options.activityTiming },
    now,
  );
  const oauth = new SandboxOAuth(seed.clients, seed.accessTokens ?? [], {
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 86_400,
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
  });
  const api = new SandboxApi(account, apiBasePath, { ...apiLimitDefaults, ...options.limits });
  const traffic = new SandboxTraffic(options.requestLogLimit ?? 10_000);
  const tokenTraffic = new SandboxTraffic(0);
  const faults = new SandboxFaults(options.faults);
  const stateFile = options.stateFile;
  const heldAnswers = new Set<HeldAnswer>();
  /** Waits `ms` with `answer` listed as held (GET /__sandbox/held). */
  const hold = async (answer: Omit<HeldAnswer, 'until'>, ms: number) => {
    const entry: HeldAnswer = { ...answer, until: now() + ms };
    heldAnswers.add(entry);
    try {
      await delay(ms);
    } finally {
      heldAnswers.delete(entry);
    }
  };

  const save = (finishActivities: boolean) => {
    if (!stateFile) return;
    if (finishActivities) account.finishAll();
    writeSandboxState(stateFile, { ...account.snapshot(), ...oauth.snapshot(now()) });
  };
  save(false);

  const answer = (
    response: ServerResponse,
    status: number,
    body: unknown,
    contentType = 'application/json',
  ) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    response.end(text);
  };

  const handleToken = async (
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
    at: number,
  ): Promise<void> => {
    const log = (status: number, clientId?: string) =>
      traffic.answered(
        {
          at,
          method: request.method ?? '',
          path: tokenPath,
          route: 'token',
          status,
          ...(clientId ? { clientId } : {}),
        },
        false,
      );
    if (request.method !== 'POST') {
      log(405);
      return answer(response, 405, { error: 'invalid_request', error_description: 'Use POST' });
    }
    const client = oauth.authenticate(request.headers.authorization);
    // The token endpoint allows 1 request per second per client (API-NOTES.md); checked before the
    // refresh token is spent, so a refused request leaves it valid.
    if (
      client &&
      tokenTraffic.admit(client.clientId, at, {
        requestsPerSecond: 1,
        requestsPerDay: Number.MAX_SAFE_INTEGER,
      }) !== 'ok'
    ) {
      log(429, client.clientId);
      return answer(response, 429, {
        errorCode: 'E0000047',
        errorSummary: 'API call exceeded rate limit due to too many requests.',
      });
    }
    const result = oauth.token(request.headers.authorization, new URLSearchParams(body.toString('utf8')), at);
    // The rotated token must survive a crash before the client can hold it.
    if (result.status === 200) save(false);
    const slowMs = result.status === 200 ? faults.decideToken() : 0;
    if (slowMs > 0) {
      await hold(
        {
          at,
          method: 'POST',
          path: tokenPath,
          route: 'token',
          status: 200,
          ...(result.clientId ? { clientId: result.clientId } : {}),
        },
        slowMs,
      );
    }
    log(result.status, result.clientId);
    answer(response, result.status, result.body);
  };

  const handleApi = async (
    request: IncomingMessage,
    url: URL,
    body: Buffer,
    response: ServerResponse,
    at: number,
  ): Promise<void> => {
    const method = request.method ?? 'GET';
    const path = url.pathname.slice(apiBasePath.length) || '/';
    const route = api.routeOf(method, path);
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const client = bearer ? oauth.clientOf(bearer, at) : undefined;
    traffic.arrived(at, client?.clientId);
    const finish = (
      status: number,
      payload: unknown,
      extra: { fault?: string; contentType?: string } = {},
    ) => {
      traffic.answered(
        {
          at,
          method,
          path: url.pathname,
          route,
          status,
          ...(client ? { clientId: client.clientId } : {}),
          ...(extra.fault ? { fault: extra.fault } : {}),
          answeredAfterMs: now() - at,
        },
        true,
      );
      answer(response, status, payload, extra.contentType);
    };
    if (!client || !bearer) return finish(401, unauthorizedBody);
    const admitted = traffic.admit(client.clientId, at, client.limits);
    if (admitted === 'quota_exceeded') return finish(429, quotaBody);
    if (admitted === 'throttled') return finish(429, throttledBody);
    const decision = faults.decide(path, route);
    switch (decision.fault) {
      case 'connection-reset':
        traffic.answered(
          {
            at,
            method,
            path: url.pathname,
            route,
            status: 0,
            clientId: client.clientId,
            fault: 'connection-reset',
          },
          true,
        );
        request.socket.destroy();
        return;
      case 'server-error':
        return finish(500, errorBody('contacts.api.internal.error', 'Internal server error'), {
          fault: 'server-error',
        });
      case 'unavailable':
        return finish(503, errorBody('contacts.api.service.unavailable', 'Service temporarily unavailable'), {
          fault: 'unavailable',
        });
      case 'throttled':
        return finish(429, throttledBody, { fault: 'throttled' });
      case 'token-expiry':
        oauth.revoke(bearer);
        return finish(401, unauthorizedBody, { fault: 'token-expiry' });
      default:
        break;
    }
    const result = api.handle({
      method,
      path,
      query: url.searchParams,
      contentType: request.headers['content-type'],
      body,
      now: at,
    });
    if (result.status === 201 && result.route === `POST ${apiBasePath}/contact_lists`) save(false);
    if (decision.slowMs > 0) {
      await hold(
        {
          at,
          method,
          path: url.pathname,
          route,
          status: result.status,
          clientId: client.clientId,
        },
        decision.slowMs,
      );
    }
    finish(result.status, result.body, {
      ...(decision.slowMs > 0 ? { fault: 'slow' } : {}),
      ...(result.contentType ? { contentType: result.contentType } : {}),
    });
  };

  const handleInspection = (request: IncomingMessage, url: URL, body: Buffer, response: ServerResponse) => {
    const path = url.pathname.slice(inspectionPath.length) || '/';
    const method = request.method ?? 'GET';
    const members = /^\/lists\/([^/]+)\/members$/.exec(path);
    if (method === 'GET' && path === '/stats') {
      const clients = [...new Set(seed.clients.map((client) => client.clientId))];
      return answer(response, 200, {
        ...traffic.stats(),
        usedToday: Object.fromEntries(clients.map((id) => [id, traffic.usedToday(id)])),
      });
    }
    if (method === 'GET' && path === '/requests') {
      return answer(response, 200, {
        requests: traffic.recent(Number(url.searchParams.get('limit') ?? 1000)),
      });
    }
    if (method === 'GET' && path === '/lists') {
      return answer(response, 200, {
        lists: account
          .allLists()
          .map((list) => ({ list_id: list.listId, name: list.name, members: list.members.count })),
      });
    }
    if (method === 'GET' && members) {
      const list = account.list(decodeURIComponent(members[1] ?? ''));
      if (!list) return answer(response, 404, { error: 'no such list' });
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      const rows: number[] = [];
      let skipped = 0;
      for (const row of list.members.rows()) {
        if (skipped++ < offset) continue;
        if (rows.length >= limit) break;
        rows.push(row);
      }
      const contacts = account.contacts;
      return answer(response, 200, {
        list_id: list.listId,
        name: list.name,
        count: list.members.count,
        members: rows.map((row) => ({
          contact_id: contacts.contactId(row),
          email: contacts.email(row),
          first_name: contacts.firstName(row) ?? null,
          last_name: contacts.lastName(row) ?? null,
          fields: contacts.fields(row),
          unsubscribed: contacts.isUnsubscribed(row),
        })),
      });
    }
    if (method === 'GET' && path === '/activities') {
      return answer(response, 200, {
        activities: account.activities().map((activity) => ({
          activity_id: activity.activityId,
          kind: activity.kind,
          state: activity.state,
          items: activity.itemsTotal,
          dropped: activity.dropped ?? 0,
          counters: activity.counters,
        })),
      });
    }
    if (method === 'GET' && path === '/held') return answer(response, 200, { held: [...heldAnswers] });
    if (path === '/limits' && method === 'GET') {
      return answer(response, 200, {
        clients: oauth.allClients().map((client) => ({
          clientId: client.clientId,
          ...client.limits,
          usedToday: traffic.usedToday(client.clientId),
        })),
      });
    }
    if (path === '/limits' && (method === 'PUT' || method === 'POST')) {
      let change: { clientId?: unknown; requestsPerSecond?: unknown; requestsPerDay?: unknown };
      try {
        change = JSON.parse(body.toString('utf8') || '{}') as typeof change;
      } catch {
        return answer(response, 400, { error: 'the body must be JSON limits' });
      }
      const whole = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 1;
      if (
        (change.clientId !== undefined && typeof change.clientId !== 'string') ||
        (change.requestsPerSecond !== undefined && !whole(change.requestsPerSecond)) ||
        (change.requestsPerDay !== undefined && !whole(change.requestsPerDay))
      ) {
        return answer(response, 400, {
          error:
            'limits: {clientId?: string, requestsPerSecond?: integer >= 1, requestsPerDay?: integer >= 1}',
        });
      }
      const changed = oauth.setLimits(change.clientId as string | undefined, {
        ...(change.requestsPerSecond === undefined
          ? {}
          : { requestsPerSecond: change.requestsPerSecond as number }),
        ...(change.requestsPerDay === undefined ? {} : { requestsPerDay: change.requestsPerDay as number }),
      });
      if (!changed) return answer(response, 404, { error: `no client ${String(change.clientId)}` });
      return answer(response, 200, {
        clients: oauth.allClients().map((client) => ({ clientId: client.clientId, ...client.limits })),
      });
    }
    if (path === '/faults' && method === 'GET') return answer(response, 200, faults.current());
    if (path === '/faults' && (method === 'PUT' || method === 'POST')) {
      try {
        faults.configure(JSON.parse(body.toString('utf8') || '{}') as SandboxFaultRates);
      } catch {
        return answer(response, 400, { error: 'the body must be JSON fault rates' });
      }
      return answer(response, 200, faults.current());
    }
    if (path === '/refresh-tokens' && method === 'POST') {
      let clientId: unknown;
      try {
        clientId = (JSON.parse(body.toString('utf8') || '{}') as { clientId?: unknown }).clientId;
      } catch {
        return answer(response, 400, { error: 'the body must be JSON: {"clientId": "..."}' });
      }
      const refreshToken = typeof clientId === 'string' ? oauth.issueRefreshToken(clientId) : undefined;
      if (refreshToken === undefined)
        return answer(response, 404, { error: `no client ${String(clientId)}` });
      save(false);
      return answer(response, 200, { clientId, refreshToken });
    }
    if (path === '/expire-tokens' && method === 'POST') {
      oauth.revoke();
      return answer(response, 200, { revoked: true });
    }
    return answer(response, 404, {
      error: 'unknown inspection endpoint',
      endpoints: [
        'GET /__sandbox/stats',
        'GET /__sandbox/requests?limit=N',
        'GET /__sandbox/lists',
        'GET /__sandbox/lists/{list_id}/members?offset=N&limit=N',
        'GET /__sandbox/activities',
        'GET|PUT /__sandbox/faults',
        'GET /__sandbox/held',
        'GET|PUT /__sandbox/limits',
        'POST /__sandbox/refresh-tokens',
        'POST /__sandbox/expire-tokens',
      ],
    });
  };

  const server: Server = createServer((request, response) => {
    // A request's time is when it arrived (its headers), as a gateway counts it, not when its body
    // was read: a 4 MB upload would otherwise be dated later than a small request sent after it.
    const at = now();
    readBody(request)
      .then(async (body) => {
        const url = new URL(request.url ?? '/', 'http://sandbox.invalid');
        account.advance(now());
        if (body === undefined)
          return answer(response, 413, errorBody('contacts.api.payload.too.large', 'Body too large'));
        if (url.pathname === tokenPath) return handleToken(request, body, response, at);
        if (url.pathname === inspectionPath || url.pathname.startsWith(`${inspectionPath}/`))
          return handleInspection(request, url, body, response);
        if (url.pathname === apiBasePath || url.pathname.startsWith(`${apiBasePath}/`))
          return handleApi(request, url, body, response, at);
        return answer(response, 404, errorBody(notFound, `Nothing at ${url.pathname}`));
      })
      .catch((error: unknown) => {
        if (!response.headersSent) {
          answer(
            response,
            500,
            errorBody('contacts.api.internal.error', `sandbox failure: ${String(error)}`),
          );
        } else response.destroy();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    apiUrl: `${url}${apiBasePath}`,
    tokenUrl: `${url}${tokenPath}`,
    port,
    account,
    stats: () => traffic.stats(),
    requests: (limit) => traffic.recent(limit),
    held: () => [...heldAnswers],
    setFaults: (rates) => faults.configure(rates),
    setClientLimits: (clientId, limits) => oauth.setLimits(clientId, limits),
    revokeAccessTokens: () => oauth.revoke(),
    close: () => {
      closed ??= (async () => {
        try {
          save(true);
        } finally {
          const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          await stopped;
        }
      })();
      return closed;
    },
  };
}

const notFound = 'contacts.api.not.found';

/** The whole body, or undefined past the size the sandbox accepts. */
function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks, size)));
    request.on('error', reject);
  });
}
