/** Text made safe for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A whole page: the shared stylesheet and script, served by exportctl itself (nothing remote). */
export function pageHtml(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/assets/status.css">
<script src="/assets/status.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><p class="brand"><a href="/">exportctl watch</a></p></header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

/** An ISO time shown as UTC text, in a <time> element; a dash when unknown. */
export function timeHtml(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 19)} UTC</time>`;
}

export interface ChartRun {
  readonly id: number;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

/**
 * A small bar chart (inline SVG, oldest run on the left) of the contacts each run added, updated
 * and removed; the same figures are in the history table, so the chart is decoration for readers
 * who cannot see it.
 */
export function runChartSvg(runs: readonly ChartRun[]): string {
  if (runs.length === 0) return '';
  const width = 600;
  const height = 120;
  const slot = width / runs.length;
  const bar = Math.max(2, Math.min(12, (slot - 4) / 3));
  const top = Math.max(1, ...runs.map((run) => Math.max(run.added, run.updated, run.removed)));
  const rects = runs.flatMap((run, index) =>
    (
      [
        ['added', run.added],
        ['updated', run.updated],
        ['removed', run.removed],
      ] as const
    ).map(([kind, value], k) => {
      const h = Math.round((value / top) * (height - 20));
      const x = (index * slot + 2 + k * bar).toFixed(1);
      return `<rect class="bar-${kind}" x="${x}" y="${height - h}" width="${bar.toFixed(1)}" height="${h}"><title>run ${run.id}: ${value} ${kind}</title></rect>`;
    }),
  );
  return `<figure class="chart">
<svg role="img" aria-labelledby="chart-title" viewBox="0 0 ${width} ${height}" width="100%" height="${height}">
<title id="chart-title">Contacts added, updated and removed per run, oldest first (the table below has the figures)</title>
${rects.join('\n')}
</svg>
<figcaption><span class="key key-added">added</span> <span class="key key-updated">updated</span> <span class="key key-removed">removed</span> — per run, oldest on the left</figcaption>
</figure>`;
}
