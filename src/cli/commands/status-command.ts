import type { RunRecord } from '../../state';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';

/**
 * `exportctl status`: each applied resource's condition, owner and (destinations) last run. The last
 * run is the last real one; a dry run after it is shown apart (`last dry run: ...`), never instead.
 */
export async function statusCommand(globals: GlobalOptions, context: CliContext): Promise<number> {
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const { lastRunSummary } = require('../render-run') as typeof import('../render-run');
  const { lastRuns } = require('../../engine') as typeof import('../../engine');
  const { resourceState, stateReason } = require('../../state') as typeof import('../../state');
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor);
  try {
    const resources = await session.store.resources.list();
    const { stateBackendOf } = require('../../wiring') as typeof import('../../wiring');
    // The watch workers sharing this state's run queue (PostgreSQL), if any ever ran.
    const cluster = await stateBackendOf(session.store).readCluster(session.store);
    const rows = [];
    for (const resource of resources) {
      const runs =
        resource.kind === 'ExportDestination'
          ? await lastRuns(session.store.runs, resource.name)
          : { run: undefined, dryRun: undefined };
      rows.push({ resource, state: resourceState(resource), why: stateReason(resource), ...runs });
    }
    if (globals.output === 'json') {
      const body = rows.map(({ resource, state, why, run, dryRun }) => ({
        kind: resource.kind,
        name: resource.name,
        owner: resource.owner,
        generation: resource.generation,
        state,
        reason: why?.reason ?? null,
        message: why?.message ?? null,
        since: why ? new Date(why.lastTransitionTime).toISOString() : null,
        remoteFacts: resource.remoteFacts?.facts ?? null,
        lastRun: run ? runSummary(run) : null,
        lastDryRun: dryRun ? runSummary(dryRun) : null,
      }));
      writeLine(
        context.stdout,
        JSON.stringify(
          { state: session.store.location, resources: body, ...(cluster ? { cluster } : {}) },
          null,
          2,
        ),
      );
      return ExitCode.Success;
    }
    if (rows.length === 0) {
      writeLine(
        context.stdout,
        `Nothing is applied in ${session.store.location}. Run exportctl apply PATH first.`,
      );
      return ExitCode.Success;
    }
    const table = rows.map(({ resource, state, why, run, dryRun }) => [
      `${resource.kind}/${resource.name}`,
      state,
      resource.owner,
      why ? `${why.reason}: ${why.message}` : '',
      resource.kind === 'ExportDestination'
        ? [
            run ? lastRunSummary(run) : 'never run',
            ...(dryRun ? [`last dry run: ${lastRunSummary(dryRun)}`] : []),
          ].join('; ')
        : '',
    ]);
    printTable(['RESOURCE', 'STATE', 'OWNER', 'REASON', 'LAST RUN'], table, context);
    if (cluster) printCluster(cluster, context);
    return rows.some((row) => row.state === 'Stalled') ? ExitCode.Error : ExitCode.Success;
  } finally {
    await session.close();
  }
}

function runSummary(run: RunRecord): Record<string, unknown> {
  return {
    id: run.id,
    status: run.status,
    trigger: run.trigger,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt ? new Date(run.finishedAt).toISOString() : null,
    ...lastRunDetails(run),
  };
}

/** What the run record says in brief: counts, the pause or the error. */
function lastRunDetails(run: RunRecord): Record<string, unknown> {
  const { exportRunRecord } = require('../../engine') as typeof import('../../engine');
  const record = exportRunRecord(run);
  if (!record) return {};
  return {
    dryRun: record.dryRun,
    counts: record.counts,
    pause: record.pause,
    error: record.error,
  };
}

function printCluster(cluster: import('../../queue').ClusterView, context: CliContext): void {
  const alive = cluster.workers.filter((worker) => worker.alive).length;
  writeLine(context.stdout, '');
  writeLine(
    context.stdout,
    `Workers: ${alive} alive of ${cluster.workers.length}; queue ${cluster.queue}: ${cluster.queued} queued, ${cluster.retrying} handed back, ${cluster.active} running`,
  );
  if (cluster.workers.length === 0) return;
  printTable(
    ['WORKER', 'ALIVE', 'HEARTBEAT', 'SLOTS', 'RUNNING'],
    cluster.workers.map((worker) => [
      worker.id,
      worker.alive ? 'yes' : 'no',
      `${worker.heartbeatAgeSeconds}s ago`,
      `${worker.runs.length}/${worker.maxConcurrentRuns}`,
      worker.runs.map((run) => `${run.destination} (${run.trigger})`).join(', '),
    ]),
    context,
  );
}

export function printTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  context: CliContext,
): void {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  writeLine(context.stdout, line(headers));
  for (const row of rows) writeLine(context.stdout, line(row));
}

export const registerStatusCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('status'), ['state', 'output'])
    .description('each applied resource: Ready / Reconciling / Stalled, why, and the last run')
    .action(action((command) => statusCommand(globals(command), context)));
};
