/**
 * The campaign's view into the sandbox: its inspection API (`/__sandbox/...`, no authentication),
 * and the few Constant Contact calls a person "outside" makes (trimming a list). Every request is
 * bounded in time; nothing here retries forever.
 */

import type {
  LoggedRequest,
  SandboxFaultRates,
  HeldAnswer as SandboxHeldAnswer,
  TrafficStats,
} from '../src/sandbox';

export type { LoggedRequest };

export interface ListMember {
  readonly contact_id: string;
  readonly email: string;
  readonly first_name: string | null;
  readonly last_name: string | null;
  readonly unsubscribed: boolean;
}

/** What the campaign reads of an answer the sandbox holds back (`GET /__sandbox/held`). */
export type HeldAnswer = Pick<SandboxHeldAnswer, 'route' | 'clientId'>;

/** What the campaign reads of `GET /__sandbox/stats`. */
export type SandboxStats = Pick<TrafficStats, 'total' | 'faults' | 'throttled' | 'maxInAnySecondByClient'>;

/** Fault rates as `PUT /__sandbox/faults` takes them (docs/constant-contact-sandbox.md). */
export type FaultRates = SandboxFaultRates;

const timeoutMs = 15_000;

export class SandboxInspection {
  constructor(readonly url: string) {}

  /**
   * One request; an idempotent one (GET, PUT) whose kept-alive connection the sandbox had closed
   * meanwhile ("other side closed": the campaign's own event loop, busy writing a big source,
   * reused a socket past the server's keep-alive timeout) is sent once more on a new one. Seen at
   * 100,000 profiles.
   */
  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.callOnce<T>(method, path, body);
    } catch (error) {
      const cause = (error as { cause?: { code?: unknown } }).cause;
      if ((method !== 'GET' && method !== 'PUT') || cause?.code !== 'UND_ERR_SOCKET') throw error;
      return this.callOnce<T>(method, path, body);
    }
  }

  private async callOnce<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  async members(listId: string): Promise<ListMember[]> {
    const answer = await this.call<{ members: ListMember[] }>(
      'GET',
      `/__sandbox/lists/${listId}/members?offset=0&limit=10000000`,
    );
    return answer.members;
  }

  async requests(): Promise<LoggedRequest[]> {
    return (await this.call<{ requests: LoggedRequest[] }>('GET', '/__sandbox/requests?limit=1000000'))
      .requests;
  }

  async held(): Promise<HeldAnswer[]> {
    return (await this.call<{ held: HeldAnswer[] }>('GET', '/__sandbox/held')).held;
  }

  stats(): Promise<SandboxStats> {
    return this.call('GET', '/__sandbox/stats');
  }

  async setFaults(rates: FaultRates): Promise<void> {
    await this.call('PUT', '/__sandbox/faults', rates);
  }

  /** A fresh refresh token for a client (`POST /__sandbox/refresh-tokens`): a re-authorisation. */
  async issueRefreshToken(clientId: string): Promise<string> {
    return (await this.call<{ refreshToken: string }>('POST', '/__sandbox/refresh-tokens', { clientId }))
      .refreshToken;
  }

  async expireTokens(): Promise<void> {
    await this.call('POST', '/__sandbox/expire-tokens');
  }

  async limits(): Promise<{ clientId: string; requestsPerDay: number; usedToday: number }[]> {
    return (
      await this.call<{ clients: { clientId: string; requestsPerDay: number; usedToday: number }[] }>(
        'GET',
        '/__sandbox/limits',
      )
    ).clients;
  }

  async setDailyQuota(clientId: string, requestsPerDay: number): Promise<void> {
    await this.call('PUT', '/__sandbox/limits', { clientId, requestsPerDay });
  }

  async activityState(activityId: string): Promise<string | undefined> {
    const answer = await this.call<{ activities: { activity_id: string; state: string }[] }>(
      'GET',
      '/__sandbox/activities',
    );
    return answer.activities.find((activity) => activity.activity_id === activityId)?.state;
  }
}

/** A client of the Constant Contact API as someone outside exportctl uses it (own API key). */
export class OutsideClient {
  private refreshToken: string;

  constructor(
    private readonly sandbox: { readonly apiUrl: string; readonly tokenUrl: string },
    private readonly credentials: {
      readonly clientId: string;
      readonly clientSecret: string;
      readonly refreshToken: string;
    },
  ) {
    this.refreshToken = credentials.refreshToken;
  }

  private async accessToken(): Promise<string> {
    const basic = Buffer.from(`${this.credentials.clientId}:${this.credentials.clientSecret}`).toString(
      'base64',
    );
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(this.sandbox.tokenUrl, {
        method: 'POST',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: this.refreshToken,
        }).toString(),
      });
      const body = (await response.json()) as { access_token?: string; refresh_token?: string };
      if (response.ok && body.access_token && body.refresh_token) {
        this.refreshToken = body.refresh_token;
        return body.access_token;
      }
      // The token endpoint allows one request per second per client.
      if (response.status !== 429 || attempt >= 5)
        throw new Error(`token: ${response.status} ${JSON.stringify(body)}`);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
  }

  /** Imports contacts into a list (`contacts_json_import`); resolves with the activity's ID. */
  async importToList(
    listId: string,
    contacts: readonly { email: string; first_name?: string; last_name?: string }[],
  ): Promise<string> {
    return this.activity('/activities/contacts_json_import', { import_data: contacts, list_ids: [listId] });
  }

  /** Removes contacts from a list (`remove_list_memberships`); resolves with the activity's ID. */
  async removeFromList(listId: string, contactIds: readonly string[]): Promise<string> {
    return this.activity('/activities/remove_list_memberships', {
      source: { contact_ids: contactIds },
      list_ids: [listId],
    });
  }

  /** POSTs a bulk activity; retries a 429 (this key shares nothing with exportctl's) a few times. */
  private async activity(path: string, body: unknown): Promise<string> {
    const token = await this.accessToken();
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(`${this.sandbox.apiUrl}${path}`, {
        method: 'POST',
        signal: AbortSignal.timeout(timeoutMs),
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as { activity_id?: string };
      if (response.ok && answer.activity_id) return answer.activity_id;
      if (response.status !== 429 || attempt >= 10)
        throw new Error(`${path}: ${response.status} ${JSON.stringify(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
