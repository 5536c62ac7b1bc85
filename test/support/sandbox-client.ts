import axios, { type AxiosResponse } from 'axios';
import { afterEach } from 'vitest';
import {
  type ApiRequestEvent,
  ConstantContactClient,
  type ConstantContactClientOptions,
  MemoryTokenStore,
  RateLimiterRegistry,
} from '../../src/constant-contact';
import { type SandboxHandle, type SandboxOptions, startSandbox } from '../../src/sandbox';

/** The quickstart seed's lists and OAuth client. */
export const vipListId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';
export const winBackListId = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';
export const sandboxCredentials = {
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-secret',
  bootstrapRefreshToken: 'sandbox-refresh-token',
} as const;

const running: SandboxHandle[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.close()));
});

/**
 * A sandbox on a free loopback port with the quickstart seed, fast activities and (unless told
 * otherwise) a generous per-second limit so tests do not wait on it. Closed after the test.
 */
export async function testSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const sandbox = await startSandbox({
    port: 0,
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 100 },
    ...options,
  });
  running.push(sandbox);
  return sandbox;
}

export interface SandboxClient {
  readonly client: ConstantContactClient;
  readonly events: ApiRequestEvent[];
  readonly store: MemoryTokenStore;
}

/** A client for a sandbox: its own limiter registry and token store, short retry and polling delays. */
export function sandboxClient(
  sandbox: SandboxHandle,
  options: Partial<ConstantContactClientOptions> = {},
): SandboxClient {
  const events: ApiRequestEvent[] = [];
  const store = new MemoryTokenStore();
  const client = new ConstantContactClient({
    connectionName: 'sandbox-test',
    credentials: sandboxCredentials,
    tokenStore: store,
    endpoints: { api: sandbox.apiUrl, token: sandbox.tokenUrl },
    rateLimiters: new RateLimiterRegistry(),
    limits: { requestsPerSecond: 100 },
    retryPolicy: { baseDelayMs: 10, throttledBaseDelayMs: 50, maxAttempts: 10 },
    activityPolling: { initialDelayMs: 20, maxDelayMs: 100, timeoutMs: 20_000 },
    onRequest: (event) => events.push(event),
    ...options,
  });
  return { client, events, store: (options.tokenStore as MemoryTokenStore | undefined) ?? store };
}

/** A raw HTTP call to the sandbox, every status answered (for checking exact bodies). */
export function raw(
  sandbox: SandboxHandle,
  method: 'GET' | 'POST',
  path: string,
  options: {
    token?: string;
    body?: string | Buffer;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<AxiosResponse> {
  return axios.request({
    method,
    url: `${sandbox.url}${path}`,
    ...(options.body === undefined ? {} : { data: options.body }),
    proxy: false,
    validateStatus: () => true,
    maxBodyLength: Number.POSITIVE_INFINITY,
    headers: {
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...(options.contentType ? { 'Content-Type': options.contentType } : {}),
      ...options.headers,
    },
  });
}

/** `Authorization: Basic ...` for the quickstart seed's client (or another secret). */
export const sandboxBasicAuth = (secret: string = sandboxCredentials.clientSecret) =>
  `Basic ${Buffer.from(`${sandboxCredentials.clientId}:${secret}`).toString('base64')}`;

/** A raw request to the sandbox's token endpoint with `form` (and `authorization`). */
export function sandboxTokenRequest(
  sandbox: Pick<SandboxHandle, 'url'>,
  form: Record<string, string>,
  authorization = sandboxBasicAuth(),
) {
  return raw(sandbox as SandboxHandle, 'POST', '/oauth2/default/v1/token', {
    body: new URLSearchParams(form).toString(),
    contentType: 'application/x-www-form-urlencoded',
    headers: { Authorization: authorization },
  });
}

/** An access token straight from the sandbox's token endpoint. */
export async function sandboxAccessToken(sandbox: SandboxHandle, refreshToken = 'sandbox-refresh-token') {
  const response = await sandboxTokenRequest(sandbox, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  });
  return response.data as { access_token: string; refresh_token: string; expires_in: number };
}
