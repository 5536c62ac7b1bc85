import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExportctlProcess, type ProcessResult, startExportctl } from './exportctl-process';
import { writeManifests } from './manifests';
import {
  accountRuleBreaks,
  compareList,
  type ExpectedContact,
  expectedSelection,
  type ListExpectation,
  type ProcessSpan,
  rateExcesses,
} from './oracle';
import { generateProfileSource, type ProfileSource, segmentNames } from './profile-source';
import {
  failedBeforeSending,
  faultsExplainGivingUp,
  type GuardPrediction,
  hasFaults,
  judgeFailure,
  listChanges,
  type RunAllowance,
  requestsDuring,
  writeRoutes,
} from './run-judgement';
import { parseRunOutput, type RunOutcome } from './run-outcome';
import {
  type FaultRates,
  type ListMember,
  type LoggedRequest,
  OutsideClient,
  SandboxInspection,
} from './sandbox-inspection';
import { type SandboxProcess, startSandboxProcess } from './sandbox-process';
import { outsideClient, type ScenarioSeed, scenarioSeed } from './sandbox-seed';
import type { DestinationSpec, Scenario } from './scenario-types';
import { SeededRandom } from './seeded-random';
import { keepSourceVersion, type SourceFiles, writeSourceFiles } from './source-files';
import { StateProbe } from './state-probe';

/** Something the oracle found that must not happen. */
export interface Anomaly {
  readonly scenario: number;
  /** The step's number (1-based; 0 for the setup, steps.length + 1 and on for the final runs). */
  readonly step: number;
  readonly stepKind: string;
  /** A stable name of what went wrong: missing, extra, wrong-name, unexpected-outcome, ... */
  readonly kind: string;
  readonly message: string;
}

/** What a scenario did, for the summary line. */
export interface ScenarioCounters {
  steps: number;
  stepsByKind: Record<string, number>;
  runs: number;
  kills: number;
  killsByPhase: Record<string, number>;
  faults: number;
  /** Trimmed contacts (per list) a completed run left missing, as the oracle allows until a --full run. */
  knownGaps: number;
}

/** A version of the source files as the oracle reads them. */
export interface SourceVersion {
  readonly id: number;
  /** `v3`, or what a variant is: `v4 (v3 without row C0000042: stray-quote)`. */
  readonly label: string;
  readonly files: SourceFiles;
  /**
   * Emails that may or may not be on a list after a run of this version (a damaged row): if one is,
   * it must have these names (undefined: names not known, not checked).
   */
  readonly optional: ReadonlyMap<string, ExpectedContact | undefined>;
}

/** What the campaign knows of a run exportctl recorded: what it planned against. */
export interface RunOrigin {
  readonly runId: number;
  readonly destination: string;
  readonly version: SourceVersion;
  readonly spec: DestinationSpec;
  readonly full: boolean;
  /** The step that started it. */
  readonly step: number;
}

/** A run process that is running. */
export interface RunningExport {
  readonly process: ExportctlProcess;
  readonly destinations: readonly string[];
  readonly full: boolean;
  readonly version: SourceVersion;
  readonly specs: ReadonlyMap<string, DestinationSpec>;
  /** Each destination's list before the process started. */
  readonly listsBefore: ReadonlyMap<string, readonly ListMember[]>;
  readonly guards: ReadonlyMap<string, GuardPrediction>;
}

/** A run process that ended, and what it said. */
export interface RunReport {
  readonly result: ProcessResult;
  readonly outcomes: readonly RunOutcome[] | undefined;
  readonly killed: boolean;
}

export interface SoakWorldOptions {
  /** The package root: bin/exportctl.js and dist/. */
  readonly root: string;
  readonly scenario: Scenario;
  /** Most time one exportctl process may take. */
  readonly processTimeoutMs: number;
}

/**
 * One scenario's world: a temp folder with the source's files and exportctl's SQLite state, the
 * sandbox as its own process, the built CLI as child processes, and what the oracle needs to know —
 * every source version, every destination's spec history, which run planned against what, what was
 * trimmed outside. Steps act on it; after every run it compares each list with what it must hold.
 */
export class SoakWorld {
  readonly folder: string;
  readonly dataFolder: string;
  readonly stateFile: string;
  readonly probe: StateProbe;
  readonly scenario: Scenario;
  readonly source: ProfileSource;
  readonly seedData: ScenarioSeed;
  readonly specs = new Map<string, DestinationSpec>();
  readonly anomalies: Anomaly[] = [];
  readonly counters: ScenarioCounters = {
    steps: 0,
    stepsByKind: {},
    runs: 0,
    kills: 0,
    killsByPhase: {},
    faults: 0,
    knownGaps: 0,
  };
  /** The faults the scenario set (steps that need others put these back). */
  faults: FaultRates = {};
  /** The step being run, for anomalies. */
  step = 0;
  stepKind = 'setup';

  private sandboxProcess: SandboxProcess | undefined;
  private inspectionClient: SandboxInspection | undefined;
  private outsideApi: OutsideClient | undefined;
  private versionCount = 0;
  private current: SourceVersion;
  private readonly selections = new Map<string, Map<string, ExpectedContact>>();
  private readonly origins = new Map<number, RunOrigin>();
  private readonly allowedEver = new Map<string, Set<string>>();
  /** Each destination's snapshot as the oracle models it (emails); undefined when unknown. */
  private readonly snapshots = new Map<string, ReadonlySet<string> | undefined>();
  /** Per list: emails trimmed outside, and the step that did it. */
  private readonly trimmed = new Map<string, Map<string, number>>();
  /** Emails whose names a stale plan may have overwritten: their names are not checked. */
  private readonly ambiguousNames = new Set<string>();
  private readonly spans: ProcessSpan[] = [];
  private readonly reported = new Set<string>();
  private readonly gapsSeen = new Set<string>();
  /** Connections whose refresh token a kill lost in the air (see `expectTokenLoss`). */
  private readonly tokensLostInAir = new Set<string>();
  /** Each connection's bootstrap refresh token (a new one after a re-authorisation). */
  private readonly refreshTokens = new Map<string, string>();

  private constructor(
    readonly options: SoakWorldOptions,
    folder: string,
  ) {
    this.scenario = options.scenario;
    this.folder = folder;
    this.dataFolder = join(folder, 'data');
    this.stateFile = join(folder, 'state', 'state.db');
    this.probe = new StateProbe(this.stateFile);
    const random = new SeededRandom(this.scenario.seed);
    this.source = generateProfileSource(random.derive('source'), this.scenario.profiles);
    for (const destination of this.scenario.destinations) this.specs.set(destination.name, destination);
    this.seedData = scenarioSeed({
      random: random.derive('sandbox-seed'),
      source: this.source,
      connections: this.scenario.connections,
      destinations: this.scenario.destinations,
    });
    this.current = this.keepVersion(writeSourceFiles(this.source, this.dataFolder), new Map());
  }

  /** Creates the folder and its files, and starts the sandbox. */
  static async create(options: SoakWorldOptions): Promise<SoakWorld> {
    const world = new SoakWorld(options, mkdtempSync(join(tmpdir(), 'exportctl-soak-')));
    const seedFile = join(world.folder, 'sandbox-seed.json');
    writeFileSync(seedFile, JSON.stringify(world.seedData.seed, null, 2));
    world.sandboxProcess = await startSandboxProcess({
      root: options.root,
      cwd: world.folder,
      seedFile,
      requestsPerSecond: world.scenario.requestsPerSecond,
      randomSeed: new SeededRandom(world.scenario.seed).derive('sandbox-random').seed31(),
    });
    world.inspectionClient = new SandboxInspection(world.sandboxProcess.url);
    world.outsideApi = new OutsideClient(world.sandboxProcess, outsideClient);
    return world;
  }

  get sandbox(): SandboxProcess {
    if (!this.sandboxProcess) throw new Error('the sandbox is not started');
    return this.sandboxProcess;
  }

  get inspection(): SandboxInspection {
    if (!this.inspectionClient) throw new Error('the sandbox is not started');
    return this.inspectionClient;
  }

  get outside(): OutsideClient {
    if (!this.outsideApi) throw new Error('the sandbox is not started');
    return this.outsideApi;
  }

  get version(): SourceVersion {
    return this.current;
  }

  /** Stops the sandbox; removes the folder unless `keep`. */
  async close(keep: boolean): Promise<void> {
    await this.sandboxProcess?.stop();
    if (!keep) rmSync(this.folder, { recursive: true, force: true });
  }

  // ----- anomalies -----

  /** Records an anomaly once (the same finding in a later step is not repeated). */
  /**
   * The refresh token of `destination`'s connection was lost in the air (a kill while the token
   * endpoint's answer was held): a `reauthorization-required` that follows is what must happen, a
   * known gap of the protocol, not an anomaly.
   */
  expectTokenLoss(destination: string): void {
    const connection = this.specs.get(destination)?.connection;
    if (connection !== undefined) this.tokensLostInAir.add(connection);
  }

  /** Whether a refused refresh token of `connection` is the expected end of a token lost in the air. */
  private tokenLossExpected(connection: string): boolean {
    if (!this.tokensLostInAir.delete(connection)) return false;
    this.gapsSeen.add(`token|${connection}|${this.step}`);
    this.counters.knownGaps = this.gapsSeen.size;
    return true;
  }

  anomaly(kind: string, message: string): void {
    const key = `${kind}:${message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.anomalies.push({
      scenario: this.scenario.index,
      step: this.step,
      stepKind: this.stepKind,
      kind,
      message,
    });
  }

  // ----- source versions -----

  private keepVersion(files: SourceFiles, optional: SourceVersion['optional'], what?: string): SourceVersion {
    const id = this.versionCount++;
    const kept = keepSourceVersion(files, join(this.folder, 'versions', `v${id}`));
    return { id, label: what ? `v${id} (${what})` : `v${id}`, files: kept, optional };
  }

  /** Writes the source model to the data folder as a new version. */
  commitSource(): SourceVersion {
    this.current = this.keepVersion(writeSourceFiles(this.source, this.dataFolder), new Map());
    return this.current;
  }

  /**
   * Makes `files` (a variant the oracle reads, e.g. a good file without a damaged row) the version
   * runs plan against from now on, with `optional` emails. The data folder is the caller's.
   */
  useVariant(files: SourceFiles, optional: SourceVersion['optional'], what: string): SourceVersion {
    this.current = this.keepVersion(files, optional, what);
    return this.current;
  }

  /** Back to a version kept before (after a broken file is repaired). */
  restoreVersion(version: SourceVersion): void {
    this.current = version;
  }

  /** What a destination with `spec` selects from `version` (cached). */
  selectionOf(
    version: SourceVersion,
    spec: Pick<DestinationSpec, 'segments' | 'names'>,
  ): Map<string, ExpectedContact> {
    const key = `${version.id}|${spec.segments.join(',')}|${spec.names}`;
    let selection = this.selections.get(key);
    if (!selection) {
      selection = expectedSelection(
        readFileSync(version.files.profiles),
        readFileSync(version.files.membership),
        spec,
      );
      this.selections.set(key, selection);
    }
    return selection;
  }

  /** Every contact's names in `version` (all segments: the winner of an email is the same in every selection). */
  private namesIn(version: SourceVersion): Map<string, ExpectedContact> {
    return this.selectionOf(version, { segments: segmentNames, names: true });
  }

  // ----- processes -----

  /** The environment the CLI runs with: each connection's secrets, the actor. */
  private get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { EXPORTCTL_ACTOR: 'soak@example.com' };
    for (const connection of this.scenario.connections) {
      env[connection.secretEnv] = connection.clientSecret;
      env[connection.refreshTokenEnv] = this.refreshTokens.get(connection.name) ?? connection.refreshToken;
    }
    return env;
  }

  private clientsOf(destinations: readonly string[]): string[] {
    const connections = new Set(destinations.map((name) => this.specs.get(name)?.connection));
    return this.scenario.connections
      .filter((connection) => connections.has(connection.name))
      .map((connection) => connection.clientId);
  }

  /** Starts the CLI with the state; its lifetime counts against the rate limit of `clients`. */
  exportctl(args: readonly string[], clients: readonly string[]): ExportctlProcess {
    const started = startExportctl([...args, '--state', `sqlite:${this.stateFile}`], {
      root: this.options.root,
      cwd: this.folder,
      env: this.env,
      timeoutMs: this.options.processTimeoutMs,
    });
    void started.result.then(
      (result) => this.spans.push({ clients, startedAt: result.startedAt, endedAt: result.endedAt }),
      () => undefined,
    );
    return started;
  }

  /** Writes the manifests of the current specs. */
  writeManifests(): void {
    writeManifests(join(this.folder, 'exportctl.yaml'), {
      sandbox: this.sandbox,
      requestsPerSecond: this.scenario.requestsPerSecond,
      connections: this.scenario.connections,
      destinations: [...this.specs.values()],
    });
  }

  /** `exportctl apply --auto-approve` of the current specs, `copies` processes at once; each must exit 0. */
  async apply(copies = 1): Promise<void> {
    this.writeManifests();
    const clients = this.scenario.connections.map((connection) => connection.clientId);
    const processes = Array.from({ length: copies }, () =>
      this.exportctl(['apply', '--auto-approve', '--lock-timeout', '60s', 'exportctl.yaml'], clients),
    );
    let lost = false;
    for (const result of await Promise.all(processes.map((process) => process.result))) {
      if (result.timedOut) {
        this.anomaly('hung', `exportctl apply did not end within ${this.options.processTimeoutMs} ms`);
      } else if (
        result.code !== 0 &&
        /reauthorization-required|invalid_grant/.test(result.stdout + result.stderr)
      ) {
        lost = true;
      } else if (result.code !== 0) {
        this.anomaly(
          'apply-failed',
          `exportctl apply${copies > 1 ? ` (one of ${copies} at once)` : ''} exited ${result.code}: ${lastLines(result.stderr || result.stdout)}`,
        );
      }
    }
    if (lost) {
      const expected = this.scenario.connections.some((connection) =>
        this.tokenLossExpected(connection.name),
      );
      if (!expected)
        this.anomaly(
          'token-lost',
          "exportctl apply: a connection's stored refresh token was refused (reauthorization-required)",
        );
      for (const connection of this.scenario.connections) await this.reauthorise(connection.name, false);
      await this.apply();
    }
  }

  /**
   * Re-authorises a connection the way a person would: a fresh refresh token from the sandbox (as
   * from Constant Contact's consent screen) as the manifest's bootstrap value, and `apply`, which
   * replaces the stored token chain with it. Lets a scenario go on after a lost token.
   */
  async reauthorise(connectionName: string, apply = true): Promise<void> {
    const connection = this.scenario.connections.find((candidate) => candidate.name === connectionName);
    if (!connection) return;
    this.refreshTokens.set(connectionName, await this.inspection.issueRefreshToken(connection.clientId));
    if (apply) await this.apply();
  }

  // ----- runs -----

  /**
   * Starts `exportctl run` of one destination (or `--all`). Before it starts: marks the names a
   * stale plan may write (a run to resume, planned against an older version), reads each list, and
   * predicts the removal guard.
   */
  async startRun(
    target: string,
    flags: { readonly full?: boolean; readonly lockTimeout?: string } = {},
  ): Promise<RunningExport> {
    const destinations = target === '--all' ? [...this.specs.keys()] : [target];
    const listsBefore = new Map<string, ListMember[]>();
    const guards = new Map<string, GuardPrediction>();
    for (const destination of destinations) {
      const spec = this.specs.get(destination) as DestinationSpec;
      const members = await this.inspection.members(spec.listId);
      listsBefore.set(destination, members);
      const resumes = this.resumableOrigin(destination);
      if (resumes) this.markStaleNames(resumes);
      guards.set(destination, resumes ? 'no' : this.predictGuard(spec, members.length));
    }
    const args = ['run', target, '--output', 'json', '--lock-timeout', flags.lockTimeout ?? '90s'];
    if (flags.full) args.push('--full');
    this.counters.runs += 1;
    return {
      process: this.exportctl(args, this.clientsOf(destinations)),
      destinations,
      full: flags.full ?? false,
      version: this.current,
      specs: new Map(this.specs),
      listsBefore,
      guards,
    };
  }

  /** The origin of the destination's run that the next run would resume, if any. */
  resumableOrigin(destination: string): RunOrigin | undefined {
    const checkpoint = this.probe.checkpoint(destination);
    if (!checkpoint || checkpoint.phase === 'planning') return undefined;
    const status = this.probe.runStatus(checkpoint.runId);
    if (status !== 'running' && status !== 'paused') return undefined;
    return this.origins.get(checkpoint.runId);
  }

  /**
   * A plan made against an older version, sent now, writes that version's names over newer ones
   * another destination may have sent; a destination whose snapshot already holds the newer names
   * does not send them again. Those contacts' names are not checked until a full run sends them.
   */
  private markStaleNames(origin: RunOrigin): void {
    if (!origin.spec.names || origin.version.id === this.current.id) return;
    const now = this.namesIn(this.current);
    for (const [emailKey, then] of this.selectionOf(origin.version, origin.spec)) {
      const latest = now.get(emailKey);
      if (!latest || latest.firstName !== then.firstName || latest.lastName !== then.lastName)
        this.ambiguousNames.add(emailKey);
    }
  }

  /** Whether a fresh run of `spec` must, may or must not trip the removal guard. */
  private predictGuard(spec: DestinationSpec, listMembers: number): GuardPrediction {
    if (spec.removal !== 'remove-from-list' || spec.maxRemovalPercent >= 100) return 'no';
    const snapshot = this.snapshots.get(spec.name);
    if (snapshot === undefined) return this.snapshots.has(spec.name) ? 'may' : 'no';
    const selected = this.selectionOf(this.current, spec);
    let removals = 0;
    for (const emailKey of snapshot) if (!selected.has(emailKey)) removals += 1;
    if (removals === 0) return 'no';
    const over = removals * 100 - spec.maxRemovalPercent * listMembers;
    if (listMembers === 0) return 'must';
    // Within a contact of the limit either is plausible (the list may hold one more or less).
    if (Math.abs(over) <= 100) return 'may';
    return over > 0 ? 'must' : 'no';
  }

  /** Waits for a run process and judges what it did (see `judgeRun`). */
  async finishRun(running: RunningExport, allowance: RunAllowance = {}, killed = false): Promise<RunReport> {
    const result = await running.process.result;
    await this.registerOrigins(running);
    const outcomes = killed ? undefined : parseRunOutput(result.stdout);
    const report = { result, outcomes, killed };
    if (killed) {
      this.counters.kills += 1;
      for (const destination of running.destinations) this.snapshots.set(destination, undefined);
    } else await this.judgeRun(running, report, allowance);
    await this.checkInvariants();
    return report;
  }

  /** Records the origin of every run the process created (they planned against what it started with). */
  private async registerOrigins(running: RunningExport): Promise<void> {
    for (const destination of running.destinations) {
      let known = 0;
      for (const origin of this.origins.values())
        if (origin.destination === destination) known = Math.max(known, origin.runId);
      let runs = this.probe.runsAfter(destination, known);
      for (let attempt = 0; runs === undefined && attempt < 40; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        runs = this.probe.runsAfter(destination, known);
      }
      if (runs === undefined) {
        this.anomaly(
          'state-unreadable',
          `the state ${this.stateFile} could not be read after a run of ${destination}`,
        );
        continue;
      }
      const spec = running.specs.get(destination) as DestinationSpec;
      for (const run of runs) {
        if (this.origins.has(run.id)) continue;
        this.origins.set(run.id, {
          runId: run.id,
          destination,
          version: running.version,
          spec,
          full: running.full,
          step: this.step,
        });
        const ever = this.allowedEver.get(destination) ?? new Set<string>();
        for (const emailKey of this.selectionOf(running.version, spec).keys()) ever.add(emailKey);
        for (const emailKey of running.version.optional.keys()) ever.add(emailKey);
        this.allowedEver.set(destination, ever);
      }
    }
  }

  /**
   * Judges a run process that ended by itself: its exit code against its runs' statuses; each run's
   * status against what may happen (a success; a failure the scenario caused, with its code and
   * message); and after each success, the list against what it must hold.
   */
  private async judgeRun(running: RunningExport, report: RunReport, allowance: RunAllowance): Promise<void> {
    const { result, outcomes } = report;
    const what = `exportctl run ${running.destinations.length > 1 ? '--all' : running.destinations[0]}`;
    if (result.timedOut) {
      this.anomaly(
        'hung',
        `${what} did not end within ${this.options.processTimeoutMs} ms: ${lastLines(result.stderr)}`,
      );
      for (const destination of running.destinations) this.snapshots.set(destination, undefined);
      return;
    }
    if (!outcomes || outcomes.length !== running.destinations.length) {
      this.anomaly(
        'unexpected-output',
        `${what} exited ${result.code} (${result.signal ?? 'no signal'}) without a run for each destination: ${lastLines(result.stdout + result.stderr)}`,
      );
      for (const destination of running.destinations) this.snapshots.set(destination, undefined);
      return;
    }
    // The documented exit codes (README, "Exit codes"): 1 if a run failed or aborted, else 3 if one
    // paused, else 0.
    const expectedCode = outcomes.some(
      (outcome) => outcome.status === 'failed' || outcome.status === 'aborted',
    )
      ? 1
      : outcomes.some((outcome) => outcome.status === 'paused')
        ? 3
        : 0;
    if (result.code !== expectedCode) {
      this.anomaly(
        'exit-code',
        `${what} exited ${result.code} although its runs ended ${outcomes.map((o) => o.status).join(', ')}`,
      );
    }
    const requests = await this.inspection.requests();
    for (const outcome of outcomes) {
      const spec = running.specs.get(outcome.destination);
      if (!spec) {
        this.anomaly(
          'unexpected-output',
          `${what} reported a run of ${outcome.destination}, which it was not asked to run`,
        );
        continue;
      }
      if (outcome.status === 'succeeded') {
        const guard = running.guards.get(outcome.destination);
        if (allowance.sourceFailure === 'must') {
          this.anomaly(
            'unexpected-outcome',
            `${what} succeeded although its source was broken (it must fail before sending)`,
          );
        } else if (guard === 'must') {
          this.anomaly(
            'unexpected-outcome',
            `${what} succeeded although its removals exceed maxRemovalPercent ${spec.maxRemovalPercent}%`,
          );
        }
        await this.checkCompletedRun(outcome, spec, allowance.listChangedSince !== true);
        continue;
      }
      this.snapshots.set(outcome.destination, undefined);
      if (outcome.errorCode === 'reauthorization-required') {
        // Its refresh token is gone: expected after a kill while the answer was in the air, an
        // anomaly otherwise (e.g. a kill between its arrival and its storing). The connection is
        // then re-authorised so that the scenario can go on.
        if (!this.tokenLossExpected(spec.connection))
          this.anomaly(
            'token-lost',
            `connection ${spec.connection} lost its refresh token: a run failed reauthorization-required (${outcome.message ?? ''})`,
          );
        await this.reauthorise(spec.connection);
        continue;
      }
      // Judged on its own keys' requests: in `run --all`, another connection's destination goes on
      // after this one gave up, and its requests say nothing of this one's faults.
      const clients = new Set(this.clientsOf([outcome.destination]));
      const sharesKey = running.destinations.some(
        (other) => other !== outcome.destination && running.specs.get(other)?.connection === spec.connection,
      );
      const wrong = judgeFailure({
        what,
        outcome,
        allowance,
        guard: running.guards.get(outcome.destination) ?? 'no',
        faultsHitLast:
          hasFaults(this.faults) &&
          faultsExplainGivingUp(requestsDuring(requests, clients, result), sharesKey),
      });
      if (wrong) this.anomaly(wrong.kind, wrong.message);
      if (failedBeforeSending(outcome))
        await this.checkNothingSent(
          what,
          outcome,
          running,
          result,
          requests,
          allowance.listChangedSince === true,
        );
    }
  }

  /** A run that failed before sending must have left its list as it was, with no write request. */
  private async checkNothingSent(
    what: string,
    outcome: RunOutcome,
    running: RunningExport,
    result: ProcessResult,
    requests: readonly LoggedRequest[],
    listChangedSince: boolean,
  ): Promise<void> {
    const spec = running.specs.get(outcome.destination) as DestinationSpec;
    const clients = new Set(this.clientsOf([outcome.destination]));
    // The request log does not say which list a write was for: with another destination of the
    // process on the same key (run --all), or another process of that key at the same time, only
    // the list itself can tell.
    const shared =
      running.destinations.some(
        (other) => other !== outcome.destination && running.specs.get(other)?.connection === spec.connection,
      ) ||
      this.spans.some(
        (span) =>
          span.startedAt !== result.startedAt &&
          span.startedAt <= result.endedAt &&
          span.endedAt >= result.startedAt &&
          span.clients.some((client) => clients.has(client)),
      );
    const writes = requestsDuring(requests, clients, result).filter((request) =>
      writeRoutes.has(request.route),
    );
    if (!shared && writes.length > 0)
      this.anomaly(
        'sent-before-failing',
        `${what} ended ${outcome.errorCode} but sent ${writes.length} write request(s)`,
      );
    if (listChangedSince) return;
    const before = running.listsBefore.get(outcome.destination) ?? [];
    const after = await this.inspection.members(spec.listId);
    const { added, removed } = listChanges(before, after);
    if (removed.length > 0 || added.length > 0) {
      this.anomaly(
        'list-changed',
        `${what} ended ${outcome.errorCode} "before sending" but its list changed: ${added.length} added or renamed, ${removed.length} removed or renamed (${[...added, ...removed].slice(0, 3).join('; ')})`,
      );
    }
  }

  /** After a run that succeeded: the list against the expectation of the plan it carried out. */
  private async checkCompletedRun(
    outcome: RunOutcome,
    spec: DestinationSpec,
    compare: boolean,
  ): Promise<void> {
    const origin = outcome.runId === undefined ? undefined : this.origins.get(outcome.runId);
    if (!origin) {
      this.anomaly(
        'unknown-run',
        `run ${outcome.runId} of ${outcome.destination} succeeded but no process of the campaign started it`,
      );
      return;
    }
    const selection = this.selectionOf(origin.version, origin.spec);
    const required = new Map(
      [...selection].filter(
        ([emailKey]) => !this.seedData.unsubscribed.has(emailKey) && !origin.version.optional.has(emailKey),
      ),
    );
    const trimmed = this.trimmed.get(spec.listId) ?? new Map<string, number>();
    const knownGaps = new Set(
      // A run planned after the trim must bring the trimmed contacts back (it holds the list's count
      // against the last run's and looks at the list when they differ); one planned before may not.
      [...trimmed].filter(([, step]) => !(origin.step > step)).map(([emailKey]) => emailKey),
    );
    const foreign = this.seedData.foreign.get(spec.listId) ?? new Set<string>();
    const allowed = new Set(foreign);
    if (origin.spec.removal === 'keep')
      for (const emailKey of this.allowedEver.get(spec.name) ?? []) allowed.add(emailKey);
    const expectation: ListExpectation = {
      required,
      optional: origin.version.optional,
      allowed,
      knownGaps,
      checkNames: (emailKey) => origin.spec.names && !this.ambiguousNames.has(emailKey),
    };
    const members = compare ? await this.inspection.members(spec.listId) : [];
    const difference = compare
      ? compareList(members, expectation)
      : { missing: [], extra: [], wrongNames: [], knownGaps: [] };
    const run = `run ${origin.runId} of ${spec.name}${outcome.resumed ? ' (resumed)' : ''}${origin.full ? ' (--full)' : ''}, planned in step ${origin.step} against source ${origin.version.label}`;
    if (difference.missing.length > 0)
      this.anomaly(
        'missing',
        `${run}: ${difference.missing.length} contact(s) missing from the list: ${examples(difference.missing)}`,
      );
    if (difference.extra.length > 0)
      this.anomaly(
        'extra',
        `${run}: ${difference.extra.length} contact(s) on the list that must not be: ${examples(difference.extra)}`,
      );
    if (difference.wrongNames.length > 0) {
      this.anomaly(
        'wrong-name',
        `${run}: ${difference.wrongNames.length} contact(s) with wrong names: ${difference.wrongNames
          .slice(0, 3)
          .map((wrong) => `${wrong.email} expected ${wrong.expected}, is ${wrong.actual}`)
          .join('; ')}`,
      );
    }
    for (const emailKey of difference.knownGaps) this.gapsSeen.add(`${spec.listId}|${emailKey}`);
    this.counters.knownGaps = this.gapsSeen.size;
    // What this run made certain.
    if (compare) for (const [emailKey, step] of trimmed) if (step < origin.step) trimmed.delete(emailKey);
    if (origin.full && origin.spec.names && origin.version.id === this.current.id)
      for (const emailKey of required.keys()) this.ambiguousNames.delete(emailKey);
    this.snapshots.set(spec.name, origin.version.optional.size > 0 ? undefined : new Set(selection.keys()));
  }

  /**
   * What must hold of every list at any time: its foreign members are all there, no unsubscribed
   * contact and no U+FFFD is on it, and no member is one that no selection of its destination ever held.
   */
  async checkInvariants(): Promise<void> {
    for (const spec of this.specs.values()) {
      const members = await this.inspection.members(spec.listId);
      const emails = new Set(members.map((member) => member.email.toLowerCase()));
      const breaks = accountRuleBreaks(members);
      if (breaks.unsubscribed.length > 0)
        this.anomaly(
          'unsubscribed-added',
          `list of ${spec.name} holds unsubscribed contacts: ${examples(breaks.unsubscribed)}`,
        );
      if (breaks.replacement.length > 0)
        this.anomaly(
          'replacement-character',
          `list of ${spec.name} holds U+FFFD in: ${examples(breaks.replacement)}`,
        );
      const foreign = this.seedData.foreign.get(spec.listId) ?? new Set<string>();
      const gone = [...foreign].filter((emailKey) => !emails.has(emailKey));
      if (gone.length > 0)
        this.anomaly(
          'foreign-removed',
          `list of ${spec.name} lost members exportctl never added: ${examples(gone)}`,
        );
      const ever = this.allowedEver.get(spec.name) ?? new Set<string>();
      const strangers = [...emails].filter((emailKey) => !foreign.has(emailKey) && !ever.has(emailKey));
      if (strangers.length > 0)
        this.anomaly(
          'never-selected',
          `list of ${spec.name} holds contacts no selection of it ever held: ${examples(strangers)}`,
        );
    }
  }

  // ----- outside changes -----

  /** Removes `count` members exportctl added from a destination's list, through the API with another key. */
  async trimList(destination: string, count: number, random: SeededRandom): Promise<string[]> {
    const spec = this.specs.get(destination) as DestinationSpec;
    const foreign = this.seedData.foreign.get(spec.listId) ?? new Set<string>();
    const members = (await this.inspection.members(spec.listId)).filter(
      (member) => !foreign.has(member.email.toLowerCase()),
    );
    const chosen = random.sample(members, count);
    if (chosen.length === 0) return [];
    // Faults are for exportctl; the person trimming the list is not part of the test.
    await this.inspection.setFaults({});
    try {
      const activity = await this.outside.removeFromList(
        spec.listId,
        chosen.map((member) => member.contact_id),
      );
      for (let attempt = 0; attempt < 100; attempt++) {
        if ((await this.inspection.activityState(activity)) === 'completed') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await this.inspection.setFaults(this.faults);
    }
    const trimmed = this.trimmed.get(spec.listId) ?? new Map<string, number>();
    for (const member of chosen) trimmed.set(member.email.toLowerCase(), this.step);
    this.trimmed.set(spec.listId, trimmed);
    return chosen.map((member) => member.email);
  }

  /**
   * Changes a destination's list behind the oracle's back — removes a member exportctl added,
   * renames one, adds a stranger — so that a campaign run with `--kinds +sabotage` shows the
   * oracle catching each. Never part of a real campaign.
   */
  async sabotage(destination: string, random: SeededRandom): Promise<void> {
    const spec = this.specs.get(destination) as DestinationSpec;
    const foreign = this.seedData.foreign.get(spec.listId) ?? new Set<string>();
    const [member] = random.sample(
      (await this.inspection.members(spec.listId)).filter(
        (candidate) => !foreign.has(candidate.email.toLowerCase()),
      ),
      1,
    );
    await this.inspection.setFaults({});
    try {
      const activities = [
        await this.outside.importToList(spec.listId, [
          { email: `stranger.${random.int(1, 1e6)}@sabotage.example.com` },
        ]),
      ];
      if (member) {
        activities.push(await this.outside.removeFromList(spec.listId, [member.contact_id]));
        activities.push(
          await this.outside.importToList(spec.listId, [{ email: member.email, first_name: 'Sabotaged' }]),
        );
      }
      for (const activity of activities) {
        for (let attempt = 0; attempt < 100; attempt++) {
          if ((await this.inspection.activityState(activity)) === 'completed') break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    } finally {
      await this.inspection.setFaults(this.faults);
    }
  }

  /** Sets the sandbox's faults for the steps that follow. */
  async setFaults(rates: FaultRates): Promise<void> {
    this.faults = rates;
    await this.inspection.setFaults(rates);
  }

  /** Emails of the trimmed contacts still owed to a list (known gaps until a run planned after the trim). */
  trimmedOf(destination: string): number {
    return this.trimmed.get(this.specs.get(destination)?.listId ?? '')?.size ?? 0;
  }

  /** Whether some names are unchecked because a stale plan may have written them. */
  get namesAmbiguous(): boolean {
    return this.ambiguousNames.size > 0;
  }

  /** Marks emails whose names cannot be known (a damaged row was sent, maybe with other names). */
  markNamesUnknown(emails: Iterable<string>): void {
    for (const emailKey of emails) this.ambiguousNames.add(emailKey);
  }

  /** At the end of a scenario: the rate limit per key, and the faults counted. */
  async finalChecks(): Promise<void> {
    const requests = await this.inspection.requests();
    for (const excess of rateExcesses(requests, this.spans, this.scenario.requestsPerSecond)) {
      this.anomaly(
        'rate-exceeded',
        `${excess.requests} requests of ${excess.clientId} in the second before ${new Date(excess.at).toISOString()}, more than ${excess.allowed}`,
      );
    }
    const stats = await this.inspection.stats();
    this.counters.faults += Object.values(stats.faults).reduce((sum, count) => sum + count, 0);
  }
}

function examples(emails: readonly string[]): string {
  return `${emails.slice(0, 5).join(', ')}${emails.length > 5 ? `, ... (${emails.length - 5} more)` : ''}`;
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ').slice(0, 600);
}
