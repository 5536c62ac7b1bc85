import type { DataPlan, DataPlanPreview, ExportRunRecord, ExportRunResult } from '../engine';
import { exportRunRecord, pauseText, runDurationMs } from '../engine';
import type { RunRecord } from '../state';
import { noun, plural } from '../text';

const int = (value: number) => value.toLocaleString('en-US');

/** `1.2 s`, `3 min 5 s`, `1 h 2 min`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * Why every contact is an update when the mapping changed: `: new mapped field company_name`, and
 * the fields no longer sent (their values stay in Constant Contact).
 */
function fieldChangeText(plan: DataPlan): string {
  const changes = plan.fieldChanges;
  if (!changes) return '';
  const parts: string[] = [];
  if (changes.added.length > 0)
    parts.push(`new mapped field${changes.added.length === 1 ? '' : 's'} ${changes.added.join(', ')}`);
  if (changes.removed.length > 0)
    parts.push(`no longer sent: ${changes.removed.join(', ')} (the values already in Constant Contact stay)`);
  return `: ${parts.join('; ')}`;
}

/** The data plan as `--dry-run` prints it. */
export function renderDataPlan(destination: string, record: ExportRunRecord): string[] {
  const plan = record.plan;
  if (plan === null) return [`${destination}: no data plan (the run stopped before planning)`];
  const lines = [
    plan.resumesRun === null
      ? `Data plan for ${destination} (list ${record.destination.listId}${plan.full ? ', --full' : ''}): nothing is sent`
      : `Data plan for ${destination}: a run would resume run ${plan.resumesRun}, which stopped unfinished; nothing is sent`,
  ];
  if (plan.resumesRun === null) {
    lines.push(
      `  + ${int(plan.adds)} to add`,
      `  ~ ${int(plan.updates)} to update${fieldChangeText(plan)}`,
      `  = ${int(plan.unchanged)} unchanged${plan.full && plan.unchanged > 0 ? ' (sent anyway: --full)' : ''}`,
      record.destination.removal === 'remove-from-list'
        ? `  - ${int(plan.removals)} to remove`
        : `  - 0 to remove (removal: keep${plan.kept > 0 ? `; ${int(plan.kept)} no longer selected stay on the list` : ''})`,
    );
  } else {
    lines.push(`  ${plural(plan.toImport, 'contact')} left to import, ${int(plan.removals)} left to remove`);
  }
  lines.push(...callLines(plan));
  if (plan.removalGuard) {
    const guard = plan.removalGuard;
    const share = guard.percent === null ? 'all' : `${guard.percent.toFixed(1)}%`;
    lines.push(
      `  removal guard: ${int(guard.removals)} of ${int(guard.base)} ${guard.basis === 'list' ? 'list members' : 'contacts in the last snapshot (a real run counts only the leavers on the list, of its members)'} = ${share}, limit ${guard.maxRemovalPercent}%: ${guard.allowed ? 'within' : 'EXCEEDED, the run would abort'}`,
    );
  }
  if (plan.resumesRun === null) lines.push(readLine(record));
  return lines;
}

/** `plan --with-data-plan`: each affected destination's data plan, as text. */
export function renderDataPlanPreviewsText(previews: readonly DataPlanPreview[]): string[] {
  if (previews.length === 0) return [];
  const lines = ['', 'Data plans: what each destination changed here would send on its next run:'];
  for (const preview of previews) {
    lines.push('');
    if ('error' in preview)
      lines.push(`${preview.destination}: no data plan: ${preview.error.code}: ${preview.error.message}`);
    else lines.push(...renderDataPlan(preview.destination, preview.record));
  }
  return lines;
}

/** `plan --output markdown --with-data-plan`: a table of each affected destination's data plan. */
export function renderDataPlanPreviewsMarkdown(previews: readonly DataPlanPreview[]): string {
  if (previews.length === 0) return '';
  const rows = previews.map((preview) => {
    const name = `\`${preview.destination}\``;
    if ('error' in preview)
      return `| ${name} | ⛔ \`${preview.error.code}\`: ${escapeCell(preview.error.message)} | | | | | |`;
    const { plan } = preview.record;
    if (plan === null) return `| ${name} | no data plan | | | | | |`;
    const removal =
      preview.record.destination.removal === 'remove-from-list'
        ? int(plan.removals)
        : `0 (keep${plan.kept > 0 ? `; ${int(plan.kept)} stay` : ''})`;
    const guard =
      plan.removalGuard && !plan.removalGuard.allowed
        ? ' ⛔ over maxRemovalPercent: the run would abort'
        : '';
    return `| ${name} | ${int(plan.contacts)} | +${int(plan.adds)} | ~${int(plan.updates)} | =${int(plan.unchanged)} | -${removal}${guard} | ${int(plan.importCalls)} import, ${int(plan.removalCalls)} removal; ~${formatDuration(plan.etaSeconds * 1000)} at ${plan.requestsPerSecond} req/s |`;
  });
  const invalid = previews
    .filter((preview) => 'record' in preview)
    .map((preview) => {
      const c = (preview as { record: ExportRunRecord }).record.counts;
      return `\`${preview.destination}\`: ${plural(c.invalid, 'invalid row')}, ${plural(c.duplicate, 'duplicate email')} of ${int(c.read)} read`;
    });
  return [
    '**Data plans** (the next run of each destination this change touches; nothing has been sent)',
    '',
    '| destination | contacts | add | update | unchanged | remove | API calls |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(invalid.length > 0 ? [`Rows: ${invalid.join('; ')}.`, ''] : []),
  ].join('\n');
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function callLines(plan: DataPlan): string[] {
  return [
    `  API: ${plural(plan.importCalls, 'import call')} (<= 40,000 contacts, < 4 MB each), ${plural(plan.removalCalls, 'removal call')} (<= 500 contacts each)${plan.lookupCalls > 0 ? `, about ${int(plan.lookupCalls)} to look up contact IDs` : ''}`,
    `  ETA: about ${plural(plan.estimatedRequests, 'request')} at ${plan.requestsPerSecond} requests/second = ${formatDuration(plan.etaSeconds * 1000)} or more`,
  ];
}

function readLine(record: ExportRunRecord): string {
  const c = record.counts;
  return `  read ${plural(c.read, 'profile row')}; ${int(c.inSegments)} in ${record.destination.segments.join(', ')}; ${int(c.invalid)} invalid, ${plural(c.duplicate, 'duplicate email')}; ${plural(c.contacts, 'distinct contact')}`;
}

/**
 * What the run found when it held the list against what exportctl put there: a line only when the
 * list was not as the last run left it (a warning: it was trimmed, or members were added outside).
 */
function listCheckLine(record: ExportRunRecord): string | undefined {
  const check = record.listCheck;
  if (!check?.exported) return undefined;
  const before =
    check.expected === null
      ? 'the last run did not finish, so it was looked at'
      : `${int(check.expected)} after the last run`;
  return `  warning: the list had ${plural(check.found, 'member')} (${before}): ${plural(check.missing, 'contact')} exportctl had put there ${check.missing === 1 ? 'was' : 'were'} missing (sent again if still selected); ${plural(check.notExportctls, 'member')} exportctl did not add, left alone`;
}

/**
 * What a run's summary is made of: a run as `exportctl run` ended it, or as the history holds it
 * (`exportctl runs NAME RUN`, its error as the record keeps it).
 */
export type RunSummaryInput = Pick<ExportRunResult, 'run' | 'record' | 'resumed' | 'tookOverLock'> & {
  readonly error: { readonly message: string; readonly hint: string | null | undefined } | undefined;
};

/** A finished (or paused) run, as `exportctl run` and `exportctl runs NAME RUN` print it. */
export function renderRunSummary(result: RunSummaryInput): string[] {
  const { run, record } = result;
  const destination = run.destination;
  if (record.dryRun && run.status === 'succeeded') return renderDataPlan(destination, record);
  const c = record.counts;
  const took = formatDuration(runDurationMs(run) ?? 0);
  const lines: string[] = [];
  const head = `${destination}: run ${run.id} ${run.status}${result.resumed ? ' (resumed)' : ''} in ${took}`;
  const skipped = run.status === 'succeeded' && record.skipped === 'unchanged';
  if (skipped) {
    lines.push(
      `${head}: unchanged, ${plural(c.contacts, 'contact')} as the last run left them; nothing read, nothing sent`,
      '  (the source, the specs, the snapshot and the list count are as the last run that succeeded left them; --full sends everything anyway)',
    );
  } else if (run.status === 'succeeded') {
    lines.push(
      `${head}: ${plural(c.contacts, 'contact')} selected; +${int(c.added)} new, ~${int(c.updated)} changed, =${int(c.unchanged)} unchanged, -${int(c.removed)} removed`,
      `  imported ${int(c.imported)} in ${plural(record.batches.importsConfirmed, 'call')}; ${int(c.unsubscribed)} unsubscribed in Constant Contact (not added, never re-added)${c.rejected > 0 ? `; ${int(c.rejected)} refused by Constant Contact` : ''}`,
    );
  } else {
    lines.push(`${head}`);
    if (record.pause) lines.push(`  ${record.pause.message}`);
    if (result.error) {
      lines.push(`  ${result.error.message}`);
      if (result.error.hint) lines.push(`  hint: ${result.error.hint}`);
    }
    if (record.batches.imports > 0 || record.batches.removals > 0) {
      lines.push(
        `  so far: ${int(record.batches.importsConfirmed)}/${int(record.batches.imports)} import ${noun(record.batches.imports, 'call')}, ${int(record.batches.removalsConfirmed)}/${int(record.batches.removals)} removal ${noun(record.batches.removals, 'call')} confirmed`,
      );
    }
  }
  if (!skipped && (record.plan?.resumesRun === null || record.plan === null)) lines.push(readLine(record));
  const listLine = listCheckLine(record);
  if (listLine !== undefined) lines.push(listLine);
  const api = record.apiCalls;
  lines.push(
    `  API: ${plural(api.total, 'request')} (${plural(api.writes, 'write')}, ${int(api.failed)} failed and retried or reported, ${int(api.throttled)} throttled)`,
  );
  const issues = `${plural(record.rowIssues.errors, 'error')}, ${plural(record.rowIssues.warnings, 'warning')}`;
  if (record.rowIssues.csv) {
    // A run recorded before row issues were kept in the state: they are in a file beside it.
    lines.push(`  row issues: ${issues} in ${record.rowIssues.csv}`);
  } else if (record.rowIssues.errors + record.rowIssues.warnings + c.rejected > 0) {
    lines.push(
      `  row issues: ${issues}${c.rejected > 0 ? `, ${int(c.rejected)} refused by Constant Contact` : ''}; as CSV: exportctl runs ${destination} ${run.id} --row-issues > issues.csv`,
    );
  }
  if (result.tookOverLock) {
    lines.push(`  (took over the lock of a run that was gone: ${result.tookOverLock.reason})`);
  }
  return lines;
}

/** A run as `--output json` shows it. */
export function runJson(run: RunRecord): Record<string, unknown> {
  return {
    id: run.id,
    destination: run.destination,
    status: run.status,
    trigger: run.trigger,
    actor: run.actor ?? null,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === undefined ? null : new Date(run.finishedAt).toISOString(),
    durationMs: runDurationMs(run) ?? null,
    gitCommit: run.gitCommit ?? null,
    record: run.record,
  };
}

/** `+12 ~3 -1 =100` (or the plan of a dry run), for tables. */
export function runChanges(run: RunRecord): string {
  const record = exportRunRecord(run);
  if (!record) return '';
  const c = record.counts;
  if (record.dryRun) {
    const plan = record.plan;
    return plan ? `plan +${int(plan.adds)} ~${int(plan.updates)} -${int(plan.removals)}` : 'plan';
  }
  return `+${int(c.added)} ~${int(c.updated)} -${int(c.removed)} =${int(c.unchanged)}`;
}

/**
 * One short line for `status`'s LAST RUN column: status (why it paused, or the code it failed
 * with), start time, changes. Whether it was a dry run is for the caller to say.
 */
export function lastRunSummary(run: RunRecord): string {
  const record = exportRunRecord(run);
  const when = new Date(run.startedAt).toISOString();
  if (!record) return `${run.status} ${when}`;
  const why =
    run.status === 'paused' && record.pause
      ? ` (${pauseText(record.pause)})`
      : record.error
        ? ` (${record.error.code})`
        : '';
  return `${run.status}${why} ${when} ${runChanges(run)}`.trimEnd();
}
