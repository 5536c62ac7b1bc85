import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSeedFile, readSandboxSeed, type SandboxHandle, startSandbox } from '../../src/sandbox';
import { repoRoot, runExportctl } from '../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { copyToTemp } from '../support/temp-folder';

/** Lists of the account besides the quickstart's two, for destinations of their own. */
const extraLists = ['7a1c2e3f-0000-4000-8000-000000000001', '7a1c2e3f-0000-4000-8000-000000000002'];
const vipListId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';
const winBackListId = '6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34';

/**
 * A sandbox of its own per test (refresh tokens rotate), with a second API key and two more lists.
 * It does not throttle: what it counts is what exportctl's limiter let through.
 */
async function startTwoKeySandbox(): Promise<SandboxHandle> {
  const seed = readSandboxSeed(defaultSeedFile());
  return startSandbox({
    port: 0,
    seed: {
      ...seed,
      clients: [
        ...seed.clients,
        { clientId: 'second-client', clientSecret: 'second-secret', refreshTokens: ['second-refresh-token'] },
      ],
      lists: [
        ...(seed.lists ?? []),
        ...extraLists.map((listId, index) => ({ listId, name: `Extra ${index + 1}` })),
      ],
    },
    activityTiming: { startDelayMs: 5, baseDurationMs: 30, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 1000 },
  });
}

function connection(
  sandbox: SandboxHandle,
  name: string,
  clientId: string,
  secretEnv: string,
  refreshEnv: string,
): string {
  return `apiVersion: exportctl/v1
kind: Connection
metadata: { name: ${name} }
spec:
  type: constant-contact
  usableBy: administrators-and-contributors
  dataPrivacyConsent: true
  exportUser: ops@example.com
  auth:
    clientId: ${clientId}
    clientSecret: { env: ${secretEnv} }
    refreshToken: { env: ${refreshEnv} }
  endpoints:
    api: ${sandbox.apiUrl}
    token: ${sandbox.tokenUrl}
  limits: { requestsPerSecond: 4 }
`;
}

function destination(name: string, connectionName: string, listId: string, segment: string): string {
  return `apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: ${name} }
spec:
  connection: ${connectionName}
  source: unified-profiles
  listId: ${listId}
  dataMatching: { email: EmailAddress, firstName: FirstName }
  segments: [${segment}]
  schedule: manual
  removal: keep
`;
}

/**
 * A copy of the quickstart with two connections on two API keys of the sandbox: three
 * destinations on key A (`sandbox-client`), one on key B (`second-client`).
 */
function world(sandbox: SandboxHandle): string {
  const folder = copyToTemp(join(repoRoot, 'config-examples', 'quickstart'));
  writeFileSync(join(folder, 'connection.yaml'), '# replaced by keys.yaml\n');
  writeFileSync(
    join(folder, 'destinations.yaml'),
    [
      connection(sandbox, 'key-a', 'sandbox-client', 'CC_CLIENT_SECRET', 'CC_REFRESH_TOKEN'),
      connection(sandbox, 'key-b', 'second-client', 'CC_B_SECRET', 'CC_B_REFRESH_TOKEN'),
      destination('a-vip', 'key-a', vipListId, 'VIP'),
      destination('a-newsletter', 'key-a', winBackListId, 'Newsletter'),
      destination('a-lapsed', 'key-a', extraLists[0] as string, 'LapsedCustomers'),
      destination('b-vip', 'key-b', extraLists[1] as string, 'VIP'),
    ].join('---\n'),
  );
  return folder;
}

const env = {
  CC_CLIENT_SECRET: 'sandbox-secret',
  CC_REFRESH_TOKEN: 'sandbox-refresh-token',
  CC_B_SECRET: 'second-secret',
  CC_B_REFRESH_TOKEN: 'second-refresh-token',

  EXPORTCTL_ACTOR: 'ops@example.com',
};

/** Applies the world, then runs its four destinations in four `exportctl run` processes at once. */
async function runFourProcesses(state: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const sandbox = await startTwoKeySandbox();
  try {
    return await runFourProcessesOn(sandbox, state, extraEnv);
  } finally {
    await sandbox.close();
  }
}

async function runFourProcessesOn(sandbox: SandboxHandle, state: string, extraEnv: NodeJS.ProcessEnv) {
  const folder = world(sandbox);
  const cli = (args: string[]) =>
    runExportctl(args, {
      cwd: folder,
      env: { ...env, EXPORTCTL_STATE: state, ...extraEnv },
      timeoutMs: 120_000,
    });
  const applied = await cli(['apply', '--auto-approve', '.']);
  expect(applied.code, applied.stderr).toBe(0);
  const since = Date.now();
  const results = await Promise.all(
    ['a-vip', 'a-newsletter', 'a-lapsed', 'b-vip'].map((name) => cli(['run', name, '--output', 'json'])),
  );
  for (const result of results) expect(result.code, result.stderr).toBe(0);
  return { requests: sandbox.requests().filter((request) => request.at >= since), stats: sandbox.stats() };
}

/** The most requests of `clientId` among `requests` in any window (t - 1000, t]. */
function busiestSecond(
  requests: readonly { at: number; clientId?: string; route: string }[],
  clientId: string,
) {
  const times = requests
    .filter((request) => request.clientId === clientId && request.route !== 'token')
    .map((request) => request.at)
    .sort((a, b) => a - b);
  let best = 0;
  for (let end = 0, start = 0; end < times.length; end++) {
    while ((times[start] as number) <= (times[end] as number) - 1000) start++;
    best = Math.max(best, end - start + 1);
  }
  return { best, count: times.length, first: times[0] ?? 0, last: times.at(-1) ?? 0 };
}

function expectLimited({ requests, stats }: Awaited<ReturnType<typeof runFourProcesses>>): void {
  // The sandbox's own count of every API request so far (apply's included), per key.
  expect(stats.maxInAnySecondByClient['sandbox-client']).toBeLessThanOrEqual(4);
  expect(stats.maxInAnySecondByClient['second-client']).toBeLessThanOrEqual(4);
  const a = busiestSecond(requests, 'sandbox-client');
  const b = busiestSecond(requests, 'second-client');
  // Enough requests on key A that three unlimited processes would have crowded one second.
  expect(a.count).toBeGreaterThanOrEqual(12);
  expect(a.best).toBeLessThanOrEqual(4);
  expect(b.count).toBeGreaterThan(0);
  expect(b.best).toBeLessThanOrEqual(4);
  // Key B's run went on while key A's were busy, instead of queueing behind them.
  expect(b.first).toBeLessThan(a.last);
}

describe('the rate limit of an API key holds across exportctl processes', () => {
  it('keeps key A to 4 requests a second over three run processes on a SQLite state', async () => {
    const state = `sqlite:${join(copyToTemp(join(repoRoot, 'config-examples', 'quickstart')), 'state.db')}`;
    expectLimited(await runFourProcesses(state));
  }, 180_000);

  describe('on a PostgreSQL state', () => {
    let server: PostgresServer | undefined;
    beforeAll(async () => {
      server = await startPostgresServer();
    }, 60_000);
    afterAll(async () => {
      await server?.dispose();
    });

    it('keeps key A to 4 requests a second over three run processes', async () => {
      const database = await (server as PostgresServer).createDatabase();
      const state = (server as PostgresServer).url({ database, schema: 'limits' });
      expectLimited(
        await runFourProcesses(state, { EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 3).toString('base64') }),
      );
    }, 180_000);
  });
});
