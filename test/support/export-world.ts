import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { expect } from 'vitest';
import { hasErrors, loadManifests } from '../../src/config';
import { RateLimiterRegistry } from '../../src/constant-contact';
import {
  type ExportRunResult,
  type RunEngineState,
  type RunEngineTuning,
  type RunExportOptions,
  type RunStore,
  rowIssueCsv,
  runExport,
} from '../../src/engine';
import { applyPlan, computePlan } from '../../src/reconcile';
import type { ObservedStatus } from '../../src/resources';
import { createHandlerContext } from '../../src/resources/live-handler-context';
import type { SandboxHandle, SandboxOptions } from '../../src/sandbox';
import type { SqliteStateStore } from '../../src/state';
import { runEngineStateFor } from '../../src/wiring';
import { repoRoot } from './exportctl-cli';
import { loadProfileGenerator } from './profile-generator';
import { type RunStoreBackend, sqliteRunStoreBackend } from './run-store-backends';
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
  /** More of `dataMatching`, as YAML lines indented under it (e.g. `companyName: Company`). */
  readonly fields?: readonly string[];
}

export interface ExportWorld {
  readonly folder: string;
  readonly dataFolder: string;
  readonly sandbox: SandboxHandle;
  /** The control plane (and, with the SQLite backend, the run store too). */
  readonly store: SqliteStateStore;
  /** The run store the world's runs use (its backend: `exportWorld`'s `runStore` option). */
  readonly runStore: RunStore;
  readonly env: NodeJS.ProcessEnv;
  /** What the engine works with: the SQLite control plane's parts and the world's run store. */
  engineState(): RunEngineState;
  /** Writes the manifests (connection to the sandbox, source, destinations, a Refresh) and applies them. */
  apply(destinations?: readonly WorldDestination[], extra?: string): Promise<void>;
  /**
   * A plan with drift refresh of the manifests `apply` last wrote (what `exportctl plan` reads), its
   * observations recorded as apply records them; resolves with them.
   */
  refresh(): Promise<readonly { kind: string; name: string; status: ObservedStatus }[]>;
  /** `apply`, failures allowed: the steps that failed, with their errors. */
  tryApply(
    destinations?: readonly WorldDestination[],
  ): Promise<readonly { id: string; code: string | undefined; message: string | undefined }[]>;
  /** Runs an export through the library API with fast test tuning. */
  run(destination: string, options?: Partial<RunExportOptions>): Promise<ExportRunResult>;
  /** The emails (lowercased, sorted) on a sandbox list. */
  members(listId?: string): string[];
  /** Run `runId`'s row issues as the CSV `exportctl runs NAME RUN --row-issues` prints. */
  rowIssueCsv(runId: number): Promise<string>;
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
  options: {
    sandbox?: SandboxOptions;
    requestsPerSecond?: number;
    sourceEncoding?: string;
    /** Where the engine's durable state lives; default: the SQLite state's own tables. */
    runStore?: RunStoreBackend;
    /** The ProfileSource manifest (named `profiles`); default: a csv source of the copied files. */
    sourceYaml?: string;
  } = {},
): Promise<ExportWorld> {
  const sandbox = await testSandbox(options.sandbox);
  const folder = tempFolder();
  const dataFolder = join(folder, 'data');
  mkdirSync(dataFolder, { recursive: true });
  cpSync(data, dataFolder, { recursive: true });
  const store = await openTestState({ folder });
  const runStore = await (options.runStore ?? sqliteRunStoreBackend).open(store);
  const engineState = (): RunEngineState => ({ ...runEngineStateFor(store), runStore });
  const env: NodeJS.ProcessEnv = {
    CC_CLIENT_SECRET: 'sandbox-secret',
    CC_REFRESH_TOKEN: 'sandbox-refresh-token',
  };
  const tuning = fastTuning();

  const refresh = async () => {
    const loaded = loadManifests([folder], { cwd: folder, skipRoleChecks: true });
    const context = createHandlerContext({ store, owner: 'exportctl', env });
    const computed = await computePlan(
      {
        manifests: loaded.manifests,
        mode: 'apply',
        prune: true,
        refresh: true,
        actor: undefined,
        cwd: folder,
      },
      context,
    );
    await applyPlan([], computed.observations, context);
    return computed.observations;
  };
  const applyResults = async (destinations: readonly WorldDestination[], extra: string) => {
    writeFileSync(
      join(folder, 'exportctl.yaml'),
      [
        connectionYaml(sandbox, options.requestsPerSecond ?? 100),
        (options.sourceYaml ?? sourceYaml) +
          (options.sourceEncoding === undefined ? '' : `  encoding: ${options.sourceEncoding}\n`),
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
    return applyPlan(computed.steps, computed.observations, context);
  };
  const apply = async (destinations: readonly WorldDestination[] = [{ name: 'vip' }], extra = '') => {
    const results = await applyResults(destinations, extra);
    const failed = results.filter((result) => result.outcome === 'failed');
    expect(failed, JSON.stringify(failed)).toEqual([]);
  };
  const tryApply = async (destinations: readonly WorldDestination[] = [{ name: 'vip' }]) =>
    (await applyResults(destinations, '')).flatMap((result) =>
      result.outcome === 'failed' ? [{ id: result.id, code: result.code, message: result.message }] : [],
    );

  return {
    folder,
    dataFolder,
    sandbox,
    store,
    runStore,
    env,
    engineState,
    apply,
    refresh,
    tryApply,
    run: (destination, runOptions = {}) =>
      runExport({
        store: engineState(),
        destination,
        actor: 'tester@example.com',
        tuning,
        ...runOptions,
      }),
    members: (listId = vipListId) => listMembers(sandbox, listId),
    rowIssueCsv: async (runId) => {
      let text = '';
      for await (const chunk of rowIssueCsv(runStore.rowIssues, runId)) text += chunk;
      return text;
    },
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
${destination.names === false ? '' : '    firstName: FirstName\n    lastName: LastName\n'}${(destination.fields ?? []).map((line) => `    ${line}\n`).join('')}  segments: ${JSON.stringify(destination.segments ?? ['VIP'])}
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
 * What a list should hold after exporting `segments` of the csv data in `folder`, worked out without
 * any of exportctl's code (an oracle of its own): csv-parse reads both files, a member is a profile
 * with a key in one of the segments, its email trimmed and lowercased must look like `local@domain.tld`
 * (no white space, one `@`) and fit Constant Contact's 50 characters, one contact per email, and the
 * seed's unsubscribed contacts are not added. Lowercased, sorted.
 */
export async function expectedMembers(folder: string, segments: readonly string[]): Promise<string[]> {
  const rows = (file: string) =>
    parseCsv(readFileSync(join(folder, file)), { columns: true, bom: true }) as Record<string, string>[];
  const wanted = new Set(segments);
  const members = new Set(
    rows('segment-membership.csv')
      .filter((row) => wanted.has(row.Segment ?? ''))
      .map((row) => row.CustomerId),
  );
  const emails = new Set<string>();
  for (const profile of rows('profiles.csv')) {
    if (!members.has(profile.CustomerId)) continue;
    const email = (profile.EmailAddress ?? '').trim().toLowerCase();
    if (/^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/u.test(email) && email.length <= 50) emails.add(email);
  }
  return [...emails].filter((email) => !unsubscribedEmails.has(email)).sort();
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
