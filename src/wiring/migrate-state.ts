import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type LockHandle,
  parseStateUrl,
  SECRET_KEY_ENV,
  SECRET_KEY_FILE,
  SecretKeyError,
  StateError,
  type StateLocation,
  type StateStore,
} from '../state';
import { openExportctlState } from './open-exportctl-state';
import { stateBackendOf } from './state-backends';
import type { StateContents, StateRecords } from './state-transfer';

/** The source state's key when it differs from the target's (EXPORTCTL_SECRET_KEY). */
export const FROM_SECRET_KEY_ENV = 'EXPORTCTL_FROM_SECRET_KEY';

/** Rows per chunk read and written: a million snapshot rows never sit in memory at once. */
const CHUNK_ROWS = 10_000;

export interface MigrateStateOptions {
  readonly from: string;
  readonly to: string;
  /** Replace what the target holds instead of refusing. */
  readonly force?: boolean;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Recorded as the holder of the control-plane locks taken on both states. */
  readonly actor: string;
}

/** What was copied, per kind of record. */
export interface MigratedState {
  /** Where from and to, without credentials. */
  readonly from: string;
  readonly to: string;
  readonly copied: {
    readonly resources: number;
    readonly secrets: number;
    readonly tokens: number;
    readonly runs: number;
    readonly snapshotRows: number;
    readonly snapshotDestinations: number;
    readonly rowIssueRuns: number;
    readonly rowIssues: number;
  };
  /** True when `--force` deleted what the target held. */
  readonly replaced: boolean;
}

/**
 * Copies the whole state at `from` into the state at `to`, of either backend: applied resources,
 * secrets and rotated tokens (decrypted with the source's key, encrypted with the target's), the
 * run history, and the run engine's snapshots, revisions, unchanged marks, list baselines, claimed
 * activities and row issues, so the target's first run sends what the source's would have (nothing,
 * when nothing changed). Locks are not copied; the target keeps its own lineage (a plan saved on
 * the source is not applied to the target) and moves its serial.
 *
 * One read of the source (one moment) and one write transaction on the target (all or nothing),
 * in chunks of {@link CHUNK_ROWS} rows; the target's control-plane lock is held meanwhile.
 *
 * Keys: the target's is what every later command uses on it (EXPORTCTL_SECRET_KEY; a SQLite target
 * without it gets a key file beside it). The source's is {@link FROM_SECRET_KEY_ENV} if set, else
 * a SQLite source's key file if it has one, else EXPORTCTL_SECRET_KEY.
 *
 * Throws `state-migrate-refused` for one state named twice, a source that is missing or empty, an
 * unfinished run in the source
 * (a checkpoint or a running or paused run), or a non-empty target without `force`; and
 * `secret-key-missing` for a PostgreSQL target without EXPORTCTL_SECRET_KEY or a source whose
 * secrets have no key. Nothing is written to the target then.
 */
export async function migrateState(options: MigrateStateOptions): Promise<MigratedState> {
  const { env, cwd } = options;
  const fromLocation = parseStateUrl(options.from, cwd, env);
  const toLocation = parseStateUrl(options.to, cwd, env);
  if (sameState(fromLocation, toLocation)) {
    throw new StateError(
      'state-migrate-refused',
      `--from and --to both name the state ${shown(fromLocation)}`,
      {
        context: { from: shown(fromLocation), to: shown(toLocation) },
        hint: 'name another file (sqlite:PATH) or another database or schema (postgres://…?schema=NAME) as --to',
      },
    );
  }
  const targetKey = nonBlank(env[SECRET_KEY_ENV]);
  if (toLocation.backend === 'postgres' && targetKey === undefined) {
    throw new SecretKeyError(
      'secret-key-missing',
      `the PostgreSQL state ${shown(toLocation)} needs ${SECRET_KEY_ENV} to encrypt the copied secrets and tokens; nothing was copied`,
      {
        context: { to: shown(toLocation) },
        hint: `set ${SECRET_KEY_ENV} to the key every machine will use with the new state (make one with: openssl rand -base64 32); if the source was encrypted with another key, give that one in ${FROM_SECRET_KEY_ENV}`,
      },
    );
  }
  if (
    fromLocation.backend === 'sqlite' &&
    fromLocation.path !== ':memory:' &&
    !existsSync(fromLocation.path)
  ) {
    throw new StateError('state-migrate-refused', `there is no state at ${shown(fromLocation)} to copy`, {
      context: { from: shown(fromLocation) },
      hint: 'check --from: the SQLite state is the file --state named (default sqlite:.exportctl/state.db)',
    });
  }
  const source = sourceKey(fromLocation, env);

  const from = await openExportctlState(options.from, { cwd, env: source.env, actor: options.actor });
  const held: { store: StateStore; lock?: LockHandle }[] = [{ store: from }];
  try {
    const to = await openExportctlState(options.to, { cwd, env, actor: options.actor });
    const target: { store: StateStore; lock?: LockHandle } = { store: to };
    held.push(target);
    // The target's lock keeps an apply off it while it fills. The source needs none: its read is one
    // moment whatever commits meanwhile (and a lock's heartbeat would write inside that read).
    target.lock = await to.locks.acquire(
      'control-plane',
      { identity: options.actor, command: 'state migrate' },
      { timeoutMs: 30_000 },
    );
    return await copyState(from, to, options.force === true, source.missing).catch((error: unknown) => {
      throw sourceKeyFailure(error, from.location) ?? error;
    });
  } finally {
    for (const entry of held.reverse()) {
      await entry.lock?.release().catch(() => {});
      await entry.store.close();
    }
  }
}

async function copyState(
  from: StateStore,
  to: StateStore,
  force: boolean,
  sourceKeyMissing: string | undefined,
): Promise<MigratedState> {
  const copied = {
    resources: 0,
    secrets: 0,
    tokens: 0,
    runs: 0,
    snapshotRows: 0,
    snapshotDestinations: 0,
    rowIssueRuns: 0,
    rowIssues: 0,
  };
  let replaced = false;
  await stateBackendOf(from)
    .transfer(from)
    .read(CHUNK_ROWS, async (contents, records) => {
      refuseUnfinished(from.location, contents);
      if (describeContents(contents).length === 0) {
        throw new StateError('state-migrate-refused', `the state ${from.location} holds nothing to copy`, {
          context: { from: from.location },
          hint: 'check --from (its schema, its file): an empty state needs no migration, use the target directly',
        });
      }
      const { secrets, tokens } = contents.controlPlane;
      if (sourceKeyMissing !== undefined && secrets + tokens > 0) {
        throw new SecretKeyError(
          'secret-key-missing',
          `the state ${from.location} holds ${secrets} secret(s) and ${tokens} token set(s), but ${sourceKeyMissing}; nothing was copied`,
          {
            context: { from: from.location },
            hint: `set ${FROM_SECRET_KEY_ENV} to the key the source was encrypted with (${SECRET_KEY_ENV} is the target's)`,
          },
        );
      }
      copied.snapshotDestinations = contents.runEngine.snapshotDestinations;
      await stateBackendOf(to)
        .transfer(to)
        .write(
          (target) => {
            const held = describeContents(target);
            if (held.length === 0) return 'keep';
            if (!force) {
              throw new StateError(
                'state-migrate-refused',
                `the state ${to.location} is not empty: it holds ${held.join(', ')}; nothing was copied`,
                {
                  context: { to: to.location },
                  hint: 'name an empty state as --to (a new file, database or schema), or add --force to replace what it holds with the copy',
                },
              );
            }
            replaced = true;
            return 'clear';
          },
          counted(records, copied),
        );
    });
  return { from: from.location, to: to.location, copied, replaced };
}

/**
 * The source's key failing (a wrong one: the key file tried instead of EXPORTCTL_SECRET_KEY, or the
 * reverse), said in the terms of the migration: the fix is EXPORTCTL_FROM_SECRET_KEY.
 */
function sourceKeyFailure(error: unknown, location: string): SecretKeyError | undefined {
  if (!(error instanceof SecretKeyError) || error.context.location !== location) return undefined;
  if (error.code !== 'secret-key-mismatch' && error.code !== 'secret-key-invalid') return undefined;
  return new SecretKeyError(
    error.code,
    `the state ${location} was encrypted with another key than the one tried (${error.context.keySource === 'key-file' ? 'its key file' : 'from the environment'}); nothing was copied`,
    {
      cause: error,
      context: error.context,
      hint: `set ${FROM_SECRET_KEY_ENV} to the key the source was encrypted with (${SECRET_KEY_ENV} is the target's)`,
    },
  );
}

function refuseUnfinished(location: string, contents: StateContents): void {
  const checkpoint = contents.runEngine.checkpoints[0];
  const run = contents.controlPlane.unfinishedRuns[0];
  const unfinished =
    checkpoint !== undefined
      ? {
          destination: checkpoint.destination,
          id: checkpoint.runId,
          what: `in its ${checkpoint.phase} phase`,
        }
      : run !== undefined
        ? { destination: run.destination, id: run.id, what: run.status }
        : undefined;
  if (unfinished === undefined) return;
  const others =
    Math.max(contents.runEngine.checkpoints.length, contents.controlPlane.unfinishedRuns.length) - 1;
  throw new StateError(
    'state-migrate-refused',
    `the state ${location} has an unfinished run: ExportDestination/${unfinished.destination} run ${unfinished.id} (${unfinished.what})` +
      `${others > 0 ? ` and ${others} more` : ''}; nothing was copied`,
    {
      context: { from: location, destination: unfinished.destination, run: unfinished.id },
      hint: `let it finish, or resume it on the source with exportctl run ${unfinished.destination} --state … until it ends; then migrate (a run in flight cannot move between states)`,
    },
  );
}

/** What a state holds, in words, e.g. `2 resources, 1 run`; empty when it holds nothing. */
function describeContents(contents: StateContents): string[] {
  const { controlPlane: c, runEngine: r } = contents;
  const parts: [number, string][] = [
    [c.resources, 'applied resource'],
    [c.secrets, 'secret'],
    [c.tokens, 'token set'],
    [c.runs, 'run'],
    [r.snapshotRows, 'snapshot row'],
    [r.checkpoints.length, 'unfinished run'],
    [r.rowIssueRuns, 'run with row issues'],
  ];
  return parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? '' : 's'}`);
}

async function* counted(
  records: AsyncIterable<StateRecords>,
  copied: { -readonly [K in keyof MigratedState['copied']]: number },
): AsyncIterable<StateRecords> {
  for await (const chunk of records) {
    const n = chunk.records.rows.length;
    switch (chunk.records.kind) {
      case 'resources':
      case 'secrets':
      case 'tokens':
      case 'runs':
        copied[chunk.records.kind] += n;
        break;
      case 'snapshots':
        copied.snapshotRows += n;
        break;
      case 'row-issue-runs':
        copied.rowIssueRuns += n;
        break;
      case 'row-issues':
        for (const row of chunk.records.rows) copied.rowIssues += row.issues;
        break;
      default:
        break;
    }
    yield chunk;
  }
}

/**
 * The environment to open the source with, and why its key is missing if it is: its own key
 * ({@link FROM_SECRET_KEY_ENV}), else a SQLite source's key file (EXPORTCTL_SECRET_KEY is the
 * target's then, and must not be tried on it), else EXPORTCTL_SECRET_KEY.
 */
function sourceKey(
  location: StateLocation,
  env: NodeJS.ProcessEnv,
): { env: NodeJS.ProcessEnv; missing?: string } {
  const own = nonBlank(env[FROM_SECRET_KEY_ENV]);
  if (own !== undefined) return { env: { ...env, [SECRET_KEY_ENV]: own } };
  if (location.backend === 'sqlite' && location.path !== ':memory:') {
    const keyFile = join(dirname(location.path), SECRET_KEY_FILE);
    if (existsSync(keyFile)) {
      const { [SECRET_KEY_ENV]: _target, ...rest } = env;
      return { env: rest };
    }
  }
  if (nonBlank(env[SECRET_KEY_ENV]) !== undefined) return { env };
  return { env, missing: `neither ${FROM_SECRET_KEY_ENV} nor ${SECRET_KEY_ENV} is set` };
}

function sameState(a: StateLocation, b: StateLocation): boolean {
  if (a.backend === 'sqlite' && b.backend === 'sqlite') return a.path === b.path && a.path !== ':memory:';
  if (a.backend === 'postgres' && b.backend === 'postgres') {
    return a.host === b.host && a.port === b.port && a.database === b.database && a.schema === b.schema;
  }
  return false;
}

function shown(location: StateLocation): string {
  return location.backend === 'sqlite' ? `sqlite:${location.path}` : location.location;
}

function nonBlank(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
