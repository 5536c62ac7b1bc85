import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { hasErrors, loadManifests } from '../../src/config';
import { RateLimiterRegistry } from '../../src/constant-contact';
import {
  type ExportRunResult,
  type RunEngineTuning,
  type RunExportOptions,
  runExport,
} from '../../src/engine';
import { ContactDeduper, readContacts } from '../../src/profiles';
import { applyPlan, computePlan } from '../../src/reconcile';
import { createHandlerContext } from '../../src/resources/live-handler-context';
import type { SandboxHandle, SandboxOptions } from '../../src/sandbox';
import type { SqliteStateStore } from '../../src/state';
import { repoRoot } from './exportctl-cli';
import { loadProfileGenerator } from './profile-generator';
import { testSandbox, vipListId, winBackListId } from './sandbox-client';
import { openTestState } from './state-store';
import { tempFolder } from './temp-folder';

/** The folder of one engine fixture case: test/fixtures/engine/<name>. */
export function engineFixture(name: string): string {
  return join(repoRoot, 'test', 'fixtures', 'engine', name);
}

/** A destination of the world's manifests (defaults: the VIP list, segment VIP, manual, keep). */
export interface WorldDestination {
  readonly name: string;
  readonly listId?: string;
  readonly segments?: readonly string[];
  readonly removal?: 'keep' | 'remove-from-list';
  readonly maxRemovalPercent?: number;
  readonly schedule?: string;
  readonly names?: boolean;
}

export interface ExportWorld {
  readonly folder: string;
  readonly dataFolder: string;
  readonly sandbox: SandboxHandle;
  readonly store: SqliteStateStore;
  readonly env: NodeJS.ProcessEnv;
  /** Writes the manifests (connection to the sandbox, source, destinations, a Refresh) and applies them. */
  apply(destinations?: readonly WorldDestination[], extra?: string): Promise<void>;
  /** Runs an export through the library API with fast test tuning. */
  run(destination: string, options?: Partial<RunExportOptions>): Promise<ExportRunResult>;
  /** The emails (lowercased, sorted) on a sandbox list. */
  members(listId?: string): string[];
}

/** Test tuning: small polling pauses, quick retries, a limiter registry of its own. */
export function fastTuning(overrides: Partial<RunEngineTuning> = {}): Partial<RunEngineTuning> {
  return {
    polling: { initialDelayMs: 20, maxDelayMs: 100, factor: 1.5, activityTimeoutMs: 30_000 },
    client: {
      rateLimiters: new RateLimiterRegistry(),
      retryPolicy: {
        baseDelayMs: 5,
        throttledBaseDelayMs: 20,
        maxDelayMs: 200,
        maxAttempts: 8,
        maxThrottledAttempts: 20,
      },
      activityPolling: { initialDelayMs: 20, maxDelayMs: 100, timeoutMs: 30_000 },
      timeouts: { requestMs: 5_000, importMs: 10_000 },
    },
    ...overrides,
  };
}

/**
 * A sandbox (quickstart seed: its OAuth client, the VIP and Win-back lists, three unsubscribed
 * contacts), a real SQLite state in a temp folder, and profile data copied from `data` (a folder
 * with profiles.csv and segment-membership.csv).
 */
export async function exportWorld(
  data: string,
  options: { sandbox?: SandboxOptions; requestsPerSecond?: number } = {},
): Promise<ExportWorld> {
  const sandbox = await testSandbox(options.sandbox);
  const folder = tempFolder();
  const dataFolder = join(folder, 'data');
  mkdirSync(dataFolder, { recursive: true });
  cpSync(data, dataFolder, { recursive: true });
  const store = await openTestState({ folder });
  const env: NodeJS.ProcessEnv = {
    CC_CLIENT_SECRET: 'sandbox-secret',
    CC_REFRESH_TOKEN: 'sandbox-refresh-token',
  };
  const tuning = fastTuning();

  const apply = async (destinations: readonly WorldDestination[] = [{ name: 'vip' }], extra = '') => {
    writeFileSync(
      join(folder, 'exportctl.yaml'),
      [
        connectionYaml(sandbox, options.requestsPerSecond ?? 100),
        sourceYaml,
        ...destinations.map(destinationYaml),
        extra,
      ]
        .filter((text) => text !== '')
        .join('---\n'),
    );
    const loaded = loadManifests([folder], { cwd: folder, skipRoleChecks: true });
    expect(hasErrors(loaded.problems), JSON.stringify(loaded.problems)).toBe(false);
    const context = createHandlerContext({ store, owner: 'exportctl', env });
    const computed = await computePlan(
      {
        manifests: loaded.manifests,
        mode: 'apply',
        prune: true,
        refresh: false,
        actor: undefined,
        cwd: folder,
      },
      context,
    );
    expect(computed.problems).toEqual([]);
    const results = await applyPlan(computed.steps, computed.observations, context);
    expect(results.filter((result) => result.outcome === 'failed')).toEqual([]);
  };

  return {
    folder,
    dataFolder,
    sandbox,
    store,
    env,
    apply,
    run: (destination, runOptions = {}) =>
      runExport({ store, destination, actor: 'tester@example.com', tuning, ...runOptions }),
    members: (listId = vipListId) => listMembers(sandbox, listId),
  };
}

/** The emails on a sandbox list, lowercased and sorted. */
export function listMembers(sandbox: SandboxHandle, listId: string): string[] {
  const list = sandbox.account.list(listId);
  if (!list) throw new Error(`no list ${listId}`);
  const contacts = sandbox.account.contacts;
  return [...list.members.rows()].map((row) => contacts.email(row).toLowerCase()).sort();
}

/** A Connection named `cc` to the sandbox, its secrets from CC_CLIENT_SECRET and CC_REFRESH_TOKEN. */
export function connectionYaml(sandbox: SandboxHandle, requestsPerSecond: number): string {
  return `apiVersion: exportctl/v1
kind: Connection
metadata: { name: cc }
spec:
  type: constant-contact
  dataPrivacyConsent: true
  exportUser: ops@example.com
  auth:
    clientId: sandbox-client
    clientSecret: { env: CC_CLIENT_SECRET }
    refreshToken: { env: CC_REFRESH_TOKEN }
  endpoints:
    api: ${sandbox.apiUrl}
    token: ${sandbox.tokenUrl}
  limits: { requestsPerSecond: ${requestsPerSecond} }
`;
}

const sourceYaml = `apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec:
  type: csv
  profiles: data/profiles.csv
  key: CustomerId
  segmentMembership: data/segment-membership.csv
`;

function destinationYaml(destination: WorldDestination): string {
  return `apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: ${destination.name} }
spec:
  connection: cc
  source: profiles
  listId: ${destination.listId ?? vipListId}
  dataMatching:
    email: EmailAddress
${destination.names === false ? '' : '    firstName: FirstName\n    lastName: LastName\n'}  segments: ${JSON.stringify(destination.segments ?? ['VIP'])}
  schedule: ${JSON.stringify(destination.schedule ?? 'manual')}
  removal: ${destination.removal ?? 'keep'}
  maxRemovalPercent: ${destination.maxRemovalPercent ?? 10}
`;
}

/** The quickstart seed's unsubscribed contacts. */
export const unsubscribedEmails: ReadonlySet<string> = new Set([
  'hana.rossi.28@example.net',
  'wei.dubois.46@mail.example.com',
  'quentin.umarov.37@example.org',
]);

/**
 * What a list should hold after exporting `segments` of the data in `folder`, computed apart from
 * the engine: the in-memory read and dedupe of src/profiles (readContacts, ContactDeduper), less the
 * seed's unsubscribed contacts. Lowercased, sorted.
 */
export async function expectedMembers(folder: string, segments: readonly string[]): Promise<string[]> {
  const read = readContacts({
    source: {
      type: 'csv',
      profiles: 'profiles.csv',
      segmentMembership: 'segment-membership.csv',
      key: 'CustomerId',
      segmentField: 'Segment',
    },
    baseDir: folder,
    segments,
    dataMatching: { email: 'EmailAddress', firstName: 'FirstName', lastName: 'LastName' },
    onIssue: () => {},
  });
  const deduper = new ContactDeduper();
  for await (const contact of read) deduper.add(contact);
  return deduper
    .contacts()
    .map((contact) => contact.emailKey)
    .filter((email) => !unsubscribedEmails.has(email))
    .sort();
}

/** Items of the sandbox's completed import activities, summed: how many contacts were imported. */
export function importedItems(sandbox: SandboxHandle): number {
  return sandbox.account
    .activities()
    .filter((activity) => activity.kind === 'import' && activity.state === 'completed')
    .reduce((sum, activity) => sum + (activity.counters.items_total_count ?? 0), 0);
}

/** Writes generated profiles (scripts/generate-profiles.mjs) into a fresh folder; returns it. */
export async function generatedData(count: number, seed = 20261122): Promise<string> {
  const folder = tempFolder();
  await (await loadProfileGenerator()).writeProfileFiles({ count, seed, folder });
  return folder;
}

export { vipListId, winBackListId };
