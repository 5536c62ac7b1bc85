import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { UsageError } from '../../errors';
import { isLoopbackHost } from '../../net';
import type { CliContext, GlobalOptions } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { parseDuration, parseWholeNumber } from '../parse-duration';

export interface WatchFlags {
  readonly prune?: boolean;
  readonly listen?: string;
  readonly listenTokenEnv?: string;
  readonly debounce: string;
  readonly driftInterval: string;
  readonly dataStable: string;
  readonly maxConcurrentRuns: string;
  readonly shutdownTimeout: string;
  readonly lockTimeout: string;
  readonly clockStart?: string;
  readonly logLevel: string;
}

/**
 * `--listen HOST:PORT`: loopback only, unless a token protects the endpoint (`--listen-token-env`).
 */
export function parseListen(text: string, hasToken = false): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const host = match ? (match[1] ?? match[2] ?? '') : '';
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65_535) {
    throw new UsageError('invalid-option', `--listen ${JSON.stringify(text)} is not HOST:PORT`, {
      hint: 'write it like 127.0.0.1:9464 (port 0 picks a free port)',
    });
  }
  if (!isLoopbackHost(host) && !hasToken) {
    throw new UsageError(
      'invalid-option',
      `--listen ${text}: the endpoint listens on loopback only unless a token protects it`,
      {
        hint: 'bind 127.0.0.1, or add --listen-token-env NAME (an environment variable holding the token browsers and scrapers must send)',
      },
    );
  }
  return { host, port };
}

/**
 * The token of `--listen-token-env NAME`: the variable must be set and not empty (watch refuses to
 * start rather than serve without it). Its value is never printed.
 */
export function listenToken(name: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (name === undefined) return undefined;
  const value = env[name];
  if (!value || value.trim() === '') {
    throw new UsageError(
      'invalid-option',
      `--listen-token-env ${name}: the environment variable ${name} is not set`,
      {
        hint: `set ${name} to a long random token (e.g. openssl rand -hex 32) in watch's environment`,
      },
    );
  }
  if (value.trim().length < 16)
    throw new UsageError(
      'invalid-option',
      `--listen-token-env ${name}: the token is shorter than 16 characters`,
      {
        hint: 'use a long random token (e.g. openssl rand -hex 32)',
      },
    );
  return value.trim();
}

/**
 * Watch starts only on PATHs that exist: a service pointed at a wrong folder must fail (exit 1) at
 * once, so that systemd's `Restart=on-failure` and its logs say so, instead of waiting forever for
 * manifests that will never appear there. A PATH that exists but holds bad manifests is watched:
 * fixing them is the change watch waits for.
 */
export function requireExistingPaths(paths: readonly string[], cwd: string): void {
  for (const path of paths.length > 0 ? paths : ['.']) {
    if (existsSync(resolve(cwd, path))) continue;
    throw new UsageError('path-not-found', `${path} does not exist: there is nothing to watch`, {
      context: { path: resolve(cwd, path) },
      hint: 'pass the folder of your manifests (relative to the working directory, or absolute)',
    });
  }
}

/**
 * `exportctl watch [PATH...]`: reconciles on every change of the manifests, runs exports on their
 * schedules and when their source data changes, checks drift periodically; logs as JSON lines (for
 * people on a terminal); `--listen` serves /healthz, /readyz, /status and /metrics. Runs until
 * SIGTERM or SIGINT: then stops taking work, lets the runs in progress reach their checkpoint (up
 * to `--shutdown-timeout`) and exits 0; a second signal exits at once (the checkpoints make that
 * safe: the next run resumes).
 */
export async function watchCommand(
  paths: string[],
  flags: WatchFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  requireExistingPaths(paths, context.cwd);
  const debounceMs = parseDuration(flags.debounce, '--debounce');
  const driftIntervalMs = parseDuration(flags.driftInterval, '--drift-interval');
  const dataStableMs = parseDuration(flags.dataStable, '--data-stable');
  const shutdownTimeoutMs = parseDuration(flags.shutdownTimeout, '--shutdown-timeout');
  const lockTimeoutMs = parseDuration(flags.lockTimeout, '--lock-timeout');
  const maxConcurrentRuns = parseWholeNumber(flags.maxConcurrentRuns, '--max-concurrent-runs');
  const token = listenToken(flags.listenTokenEnv, context.env);
  const listen = flags.listen === undefined ? undefined : parseListen(flags.listen, token !== undefined);
  const clockStart = flags.clockStart === undefined ? undefined : Date.parse(flags.clockStart);
  if (clockStart !== undefined && Number.isNaN(clockStart)) {
    throw new UsageError('invalid-option', `--clock-start ${flags.clockStart} is not an ISO 8601 time`, {
      hint: 'write it like 2026-11-23T05:59:50Z',
    });
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(flags.logLevel)) {
    throw new UsageError('invalid-option', `--log-level ${flags.logLevel} is not a pino level`, {
      hint: 'use error, warn, info or debug',
    });
  }

  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const watch = require('../../watch') as typeof import('../../watch');

  const logger = watch.createWatchLogger({ stream: context.stdout, level: flags.logLevel });
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor);
  const metrics = new watch.WatchMetrics();
  const progress = new watch.RunProgressBoard();
  const notifier = new watch.WatchNotifier({ env: context.env, cwd: context.cwd, logger });
  const runner = watch.engineExportRunner({
    store: session.store,
    actor,
    env: context.env,
    lockTimeoutMs,
    onRequest: metrics.onApiRequest,
    logger,
    onProgress: (update) => progress.update(update),
  });
  const clock = watch.systemWatchClock(clockStart);
  // A PostgreSQL state: this process is one worker of the state's shared run queue.
  const { stateBackendOf } = require('../../wiring') as typeof import('../../wiring');
  const { hostname } = require('node:os') as typeof import('node:os');
  let queue: Awaited<ReturnType<ReturnType<typeof stateBackendOf>['openRunQueue']>>;
  try {
    queue = await stateBackendOf(session.store).openRunQueue(session.store, {
      maxConcurrentRuns,
      hostname: hostname(),
      pid: process.pid,
      onEvent: (level, fields, message) => logger[level](fields, message),
    });
  } catch (error) {
    await session.close();
    throw error;
  }
  if (queue) {
    const shared = queue;
    metrics.observeCluster(() => shared.cluster());
    logger.info(
      { worker: queue.workerId, maxConcurrentRuns },
      `joined the run queue of ${session.store.location} as worker ${queue.workerId}`,
    );
  }
  const service = new watch.WatchService({
    paths: paths.length > 0 ? paths : ['.'],
    cwd: context.cwd,
    env: context.env,
    store: session.store,
    actor,
    prune: flags.prune ?? false,
    debounceMs,
    driftIntervalMs,
    dataStableMs,
    maxConcurrentRuns,
    lockTimeoutMs,
    clock,
    logger,
    metrics,
    runner: (request) => runner(request).finally(() => progress.finish(request.destination)),
    notifier,
    ...(queue ? { queue } : {}),
  });

  let stopRequested: (signal: NodeJS.Signals) => void = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    stopRequested = resolve;
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, `${signal} again: exiting now; unfinished runs resume from their checkpoint`);
      logger.flush?.();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopRequested(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let server: { url: string; close(): Promise<void> } | undefined;
  try {
    logger.info(
      { state: session.store.location, actor: actor ?? null, clock: new Date(clock.now()).toISOString() },
      `exportctl watch starting (state ${session.store.location})`,
    );
    if (listen) {
      server = await watch.startWatchServer({
        ...listen,
        metrics,
        isReady: () => service.isReady(),
        status: () => service.status(),
        page: watch.statusPageHandler({ store: session.store, status: () => service.status(), progress }),
        ...(token ? { token: new watch.AccessToken(token) } : {}),
      });
      logger.info(
        { url: server.url, token: token ? 'required' : 'none (loopback)' },
        `endpoint listening on ${server.url} (status page at /; /healthz /readyz /status /metrics)`,
      );
    }
    await Promise.race([service.start(), stopped]);
    const signal = await stopped;
    logger.info(
      { signal, timeoutMs: shutdownTimeoutMs },
      `${signal}: stopping; runs in progress stop at their next checkpoint (${signal} again exits now)`,
    );
    const clean = await service.stop(shutdownTimeoutMs);
    // Messages already on their way get a few seconds; their retries never hold the exit up long.
    await notifier.settle(5_000);
    if (clean) logger.info('stopped');
    else
      logger.warn(
        { timeoutMs: shutdownTimeoutMs },
        'runs did not reach a checkpoint in time; exiting: they resume from their last checkpoint',
      );
    return ExitCode.Success;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await server?.close();
    await queue?.close(0);
    await session.close();
    logger.flush?.();
  }
}

export const registerWatchCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('watch'), ['state', 'as'])
    .description(
      'reconcile on every change of the manifests, run exports on schedule and when source data changes',
    )
    .argument('[path...]', 'manifest files or folders (default: the current folder)')
    .option('--prune', 'delete applied resources that PATH no longer declares')
    .option(
      '--listen <host:port>',
      'serve the status page (/) and /healthz /readyz /status /metrics here (loopback, unless a token protects it)',
    )
    .option(
      '--listen-token-env <name>',
      'the environment variable holding the token the endpoint requires (Bearer header, or /login?token=… once); needed off loopback',
    )
    .addOption(
      new Option('--debounce <duration>', 'a burst of saves within this is one reconcile').default('500ms'),
    )
    .addOption(
      new Option('--drift-interval <duration>', 're-read remote facts this often (0: never)').default('10m'),
    )
    .addOption(
      new Option(
        '--data-stable <duration>',
        'a source data file must stay unchanged this long before it counts as changed',
      ).default('2s'),
    )
    .addOption(new Option('--max-concurrent-runs <n>', 'runs of different destinations at once').default('2'))
    .addOption(
      new Option(
        '--shutdown-timeout <duration>',
        'on SIGTERM, how long runs may take to reach their checkpoint',
      ).default('60s'),
    )
    .addOption(
      new Option(
        '--lock-timeout <duration>',
        'wait this long for the control-plane or a destination lock',
      ).default('30s'),
    )
    .addOption(
      new Option(
        '--clock-start <iso-time>',
        'schedules only: pretend the time is this at start, then run at real speed (rehearse a cron)',
      ),
    )
    .addOption(new Option('--log-level <level>', 'error, warn, info or debug').default('info'))
    .action(
      action((command) =>
        watchCommand(command.args, command.opts() as WatchFlags, globals(command), context),
      ),
    );
};
