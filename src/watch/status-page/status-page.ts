import type { IncomingMessage, ServerResponse } from 'node:http';
import { rowIssueCsv } from '../../engine/row-issue-csv';
import type { RunRecord, StateStore } from '../../state';
import { runStoreFor } from '../../wiring/run-engine-state';
import type { ReconcileReport } from '../watch-service';
import { statusCss, statusJs } from './assets';
import { type ChartRun, escapeHtml, pageHtml, runChartSvg, timeHtml } from './html';
import type { RunProgressBoard } from './run-progress-board';

/** The parts of watch's `/status` document the page shows. */
interface StatusDocument {
  readonly ready: boolean;
  readonly lastReconcile: ReconcileReport | null;
  readonly resources: readonly {
    readonly kind: string;
    readonly name: string;
    readonly state: string;
    readonly reason: string | null;
    readonly message: string | null;
    readonly nextScheduledRun?: string | null;
    readonly lastRun?: { id: number; status: string; trigger: string; startedAt: string } | null;
  }[];
}

export interface StatusPageOptions {
  /** The open state: destinations' specs, run history, row issues. */
  readonly store: StateStore;
  /** Watch's `/status` document. */
  readonly status: () => Promise<unknown>;
  readonly progress: RunProgressBoard;
  /** Runs in a destination's history page (newest first). */
  readonly historyLimit?: number;
}

/**
 * The status page of `watch --listen` (read-only): `/` (destinations, runs in progress, the last
 * reconcile), `/destinations/NAME` (run history with a chart), `/destinations/NAME/runs/ID/row-issues.csv`,
 * `/live.json` (runs in progress, for the page's script) and `/assets/*`. Shows names, states,
 * counts and list IDs only: a spec's secret references are never rendered.
 * Returns false for a path it does not serve.
 */
export function statusPageHandler(
  options: StatusPageOptions,
): (request: IncomingMessage, response: ServerResponse, url: URL) => boolean {
  return (_request, response, url) => {
    const path = url.pathname;
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      response.end(body);
    };
    const fail = (error: unknown) =>
      send(500, 'text/plain; charset=utf-8', `${error instanceof Error ? error.message : String(error)}\n`);
    if (path === '/assets/status.css') {
      send(200, 'text/css; charset=utf-8', statusCss);
      return true;
    }
    if (path === '/assets/status.js') {
      send(200, 'text/javascript; charset=utf-8', statusJs);
      return true;
    }
    if (path === '/live.json') {
      send(200, 'application/json', JSON.stringify({ runs: options.progress.list() }));
      return true;
    }
    if (path === '/' || path === '/index.html') {
      overviewHtml(options).then((html) => send(200, 'text/html; charset=utf-8', html), fail);
      return true;
    }
    const csv = /^\/destinations\/([^/]+)\/runs\/(\d+)\/row-issues\.csv$/.exec(path);
    if (csv) {
      const destination = decodeURIComponent(csv[1] ?? '');
      const runId = Number(csv[2]);
      rowIssuesCsv(options.store, destination, runId).then((body) => {
        if (body === undefined)
          send(404, 'text/plain; charset=utf-8', `no run ${runId} of ${destination} in the state\n`);
        else
          send(200, 'text/csv; charset=utf-8', body, {
            'content-disposition': `attachment; filename="${safeFileName(destination)}-run-${runId}-row-issues.csv"`,
          });
      }, fail);
      return true;
    }
    const history = /^\/destinations\/([^/]+)$/.exec(path);
    if (history) {
      const destination = decodeURIComponent(history[1] ?? '');
      historyHtml(options, destination).then(
        (html) =>
          html === undefined
            ? send(404, 'text/plain; charset=utf-8', `no destination ${destination} is applied\n`)
            : send(200, 'text/html; charset=utf-8', html),
        fail,
      );
      return true;
    }
    return false;
  };
}

const safeFileName = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_');
const destinationLink = (name: string) => `/destinations/${encodeURIComponent(name)}`;

function specField(spec: unknown, field: string): string {
  const value = (spec as Record<string, unknown> | null)?.[field];
  return typeof value === 'string' ? value : '';
}

function liveRunsHtml(options: StatusPageOptions): string {
  const runs = options.progress.list();
  const seconds = (ms: number | null) => (ms === null ? '—' : `${Math.round(ms / 1000)} s`);
  const rows = runs
    .map(
      (run) =>
        `<tr data-destination="${escapeHtml(run.destination)}"><td>${escapeHtml(run.destination)}</td><td class="num">${run.runId}</td><td class="phase">${escapeHtml(run.phase)}${run.dryRun ? ' (dry run)' : ''}</td><td class="num"><span class="contacts">${run.done} / ${run.total} <progress max="${Math.max(run.total, 1)}" value="${run.done}" aria-label="contacts done of ${escapeHtml(run.destination)}"></progress></span></td><td class="num">${seconds(run.elapsedMs)}</td><td class="num">${seconds(run.etaMs)}</td></tr>`,
    )
    .join('\n');
  return `<section aria-labelledby="live-heading">
<h2 id="live-heading">Runs in progress</h2>
<p id="live-empty"${runs.length > 0 ? ' hidden' : ''} class="muted">No run in progress.</p>
<table id="live-runs" aria-live="polite"${runs.length === 0 ? ' hidden' : ''}>
<thead><tr><th scope="col">Destination</th><th scope="col" class="num">Run</th><th scope="col">Phase</th><th scope="col" class="num">Contacts done / total</th><th scope="col" class="num">Elapsed</th><th scope="col" class="num">ETA</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

async function overviewHtml(options: StatusPageOptions): Promise<string> {
  const status = (await options.status()) as StatusDocument;
  const specs = new Map(
    (await options.store.resources.list({ kind: 'ExportDestination' })).map((item) => [item.name, item.spec]),
  );
  const destinations = status.resources.filter((item) => item.kind === 'ExportDestination');
  const others = status.resources.filter((item) => item.kind !== 'ExportDestination');
  const condition = (item: StatusDocument['resources'][number]) =>
    `<span class="${escapeHtml(item.state)}">${escapeHtml(item.state)}</span>${
      item.state !== 'Ready' && (item.reason || item.message)
        ? `<br><span class="why">${escapeHtml(item.reason ?? '')}${item.message ? `: ${escapeHtml(item.message)}` : ''}</span>`
        : ''
    }`;
  const destinationRows = destinations
    .map((item) => {
      const spec = specs.get(item.name);
      const last = item.lastRun;
      return `<tr><th scope="row"><a href="${destinationLink(item.name)}">${escapeHtml(item.name)}</a></th><td>${condition(item)}</td><td>${last ? `${timeHtml(last.startedAt)}<br><span class="muted">run ${last.id}: ${escapeHtml(last.status)} (${escapeHtml(last.trigger)})</span>` : '—'}</td><td>${timeHtml(item.nextScheduledRun)}</td><td><code>${escapeHtml(specField(spec, 'listId'))}</code></td><td>${escapeHtml(specField(spec, 'connection'))}</td></tr>`;
    })
    .join('\n');
  const otherRows = others
    .map(
      (item) =>
        `<tr><th scope="row">${escapeHtml(item.kind)}/${escapeHtml(item.name)}</th><td>${condition(item)}</td></tr>`,
    )
    .join('\n');
  const reconcile = status.lastReconcile;
  const reconcileHtml = reconcile
    ? `<p>${timeHtml(reconcile.at)}: <strong>${escapeHtml(reconcile.result)}</strong> (${escapeHtml(reconcile.reason)}); ${reconcile.changes} change(s), ${reconcile.failures} failure(s).</p>${
        reconcile.problems.length > 0
          ? `<ul class="problems">${reconcile.problems
              .map(
                (problem) =>
                  `<li>${problem.where ? `${escapeHtml(problem.where)}: ` : ''}${escapeHtml(problem.message)} <span class="muted">[${escapeHtml(problem.code)}]</span></li>`,
              )
              .join('')}</ul>`
          : ''
      }`
    : '<p class="muted">No reconcile yet.</p>';
  return pageHtml(
    'exportctl status',
    `<h1>Status</h1>
<p>${status.ready ? 'Ready: the manifests are applied.' : 'Not ready: the manifests are not applied yet.'}</p>
${liveRunsHtml(options)}
<section aria-labelledby="destinations-heading">
<h2 id="destinations-heading">Destinations</h2>
<table id="destinations">
<thead><tr><th scope="col">Destination</th><th scope="col">Condition</th><th scope="col">Last run</th><th scope="col">Next run</th><th scope="col">List</th><th scope="col">Connection</th></tr></thead>
<tbody>
${destinationRows || '<tr><td colspan="6" class="muted">No destination is applied.</td></tr>'}
</tbody>
</table>
</section>
<section aria-labelledby="reconcile-heading">
<h2 id="reconcile-heading">Last reconcile</h2>
${reconcileHtml}
</section>
<section aria-labelledby="resources-heading">
<h2 id="resources-heading">Other resources</h2>
<table><thead><tr><th scope="col">Resource</th><th scope="col">Condition</th></tr></thead><tbody>
${otherRows}
</tbody></table>
</section>`,
  );
}

interface HistoryCounts {
  readonly added?: number;
  readonly updated?: number;
  readonly removed?: number;
  readonly imported?: number;
  readonly contacts?: number;
}

async function historyHtml(options: StatusPageOptions, destination: string): Promise<string | undefined> {
  if (!(await options.store.resources.get('ExportDestination', destination))) return undefined;
  const runs = await options.store.runs.list({ destination, limit: options.historyLimit ?? 50 });
  const counts = (run: RunRecord): HistoryCounts =>
    ((run.record as { counts?: HistoryCounts }).counts ?? {}) as HistoryCounts;
  const issues = (run: RunRecord) =>
    (run.record as { rowIssues?: { errors?: number; warnings?: number } }).rowIssues ?? {};
  const chart: ChartRun[] = [...runs].reverse().map((run) => ({
    id: run.id,
    added: counts(run).added ?? 0,
    updated: counts(run).updated ?? 0,
    removed: counts(run).removed ?? 0,
  }));
  const rows = runs
    .map((run) => {
      const c = counts(run);
      const i = issues(run);
      const issueCount = (i.errors ?? 0) + (i.warnings ?? 0);
      return `<tr data-run="${run.id}"><th scope="row" class="num">${run.id}</th><td>${timeHtml(run.startedAt)}</td><td>${escapeHtml(run.status)}${(run.record as { dryRun?: boolean }).dryRun ? ' (dry run)' : ''}</td><td>${escapeHtml(run.trigger)}</td><td class="num">${c.added ?? 0}</td><td class="num">${c.updated ?? 0}</td><td class="num">${c.removed ?? 0}</td><td class="num">${issueCount}</td><td><a href="${destinationLink(destination)}/runs/${run.id}/row-issues.csv" download="${escapeHtml(safeFileName(destination))}-run-${run.id}-row-issues.csv">row issues of run ${run.id} (CSV)</a></td></tr>`;
    })
    .join('\n');
  return pageHtml(
    `${destination}: run history`,
    `<p><a href="/">← Status</a></p>
<h1>${escapeHtml(destination)}: run history</h1>
${runChartSvg(chart)}
<table id="history">
<caption>The last ${runs.length} run(s), newest first</caption>
<thead><tr><th scope="col" class="num">Run</th><th scope="col">Started</th><th scope="col">Status</th><th scope="col">Trigger</th><th scope="col" class="num">Added</th><th scope="col" class="num">Updated</th><th scope="col" class="num">Removed</th><th scope="col" class="num">Row issues</th><th scope="col">Download</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="9" class="muted">No run yet.</td></tr>'}
</tbody>
</table>`,
  );
}

/** The run's row issues as CSV (the same as `exportctl runs NAME RUN --row-issues`), or undefined. */
async function rowIssuesCsv(
  store: StateStore,
  destination: string,
  runId: number,
): Promise<string | undefined> {
  const run = await store.runs.get(runId);
  if (!run || run.destination !== destination) return undefined;
  let text = '';
  for await (const chunk of rowIssueCsv(runStoreFor(store).rowIssues, runId)) text += chunk;
  return text;
}
