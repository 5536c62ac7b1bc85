/**
 * The status page's stylesheet and script, served by exportctl (`/assets/status.css`,
 * `/assets/status.js`): no CDN, works offline. The pages read without JavaScript; the script only
 * refreshes the runs in progress (`/live.json`, once a second) without a reload.
 */
export const statusCss = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #57606a; --line: #d0d7de;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --added: #2da44e; --updated: #0969da; --removed: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d; } }
body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 72rem; padding: 0 1rem 2rem; }
a { color: var(--updated); }
a:focus-visible, button:focus-visible { outline: 3px solid var(--updated); outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .25rem .5rem; }
header { border-bottom: 1px solid var(--line); margin-bottom: 1rem; } .brand { font-weight: 600; margin: .75rem 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; } caption { text-align: left; font-weight: 600; padding: .25rem 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.Ready { color: var(--ok); font-weight: 600; } .Stalled { color: var(--bad); font-weight: 600; } .Reconciling, .Unknown { color: var(--warn); font-weight: 600; }
.muted { color: var(--muted); } .problems li { font-family: ui-monospace, monospace; }
progress { width: 10rem; vertical-align: middle; }
.chart svg { max-width: 600px; border-bottom: 1px solid var(--line); }
.bar-added, .key-added::before { fill: var(--added); background: var(--added); }
.bar-updated, .key-updated::before { fill: var(--updated); background: var(--updated); }
.bar-removed, .key-removed::before { fill: var(--removed); background: var(--removed); }
.key::before { content: ""; display: inline-block; width: .8em; height: .8em; margin-right: .25em; }
`;

export const statusJs = `'use strict';
(function () {
  var live = document.getElementById('live-runs');
  if (!live || !window.fetch) return;
  function text(value) { return document.createTextNode(String(value)); }
  function cell(row, value, className) {
    var td = document.createElement('td');
    if (className) td.className = className;
    if (value && value.nodeType) td.appendChild(value); else td.appendChild(text(value));
    row.appendChild(td);
  }
  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    var s = Math.round(ms / 1000);
    return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  }
  function render(runs) {
    var body = live.querySelector('tbody');
    var empty = document.getElementById('live-empty');
    body.textContent = '';
    runs.forEach(function (run) {
      var row = document.createElement('tr');
      row.setAttribute('data-destination', run.destination);
      cell(row, run.destination);
      cell(row, run.runId, 'num');
      cell(row, run.phase + (run.dryRun ? ' (dry run)' : ''), 'phase');
      var bar = document.createElement('progress');
      bar.max = Math.max(run.total, 1); bar.value = run.done;
      bar.setAttribute('aria-label', 'contacts done of ' + run.destination);
      var span = document.createElement('span');
      span.className = 'contacts';
      span.appendChild(text(run.done + ' / ' + run.total + ' '));
      span.appendChild(bar);
      cell(row, span, 'num');
      cell(row, duration(run.elapsedMs), 'num');
      cell(row, duration(run.etaMs), 'num');
      body.appendChild(row);
    });
    live.hidden = runs.length === 0;
    if (empty) empty.hidden = runs.length !== 0;
  }
  function poll() {
    fetch('/live.json', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) render(body.runs); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
`;
