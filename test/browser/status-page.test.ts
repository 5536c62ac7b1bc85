import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunProgress } from '../../src/engine/export-run-session';
import type { StateStore } from '../../src/state';
import {
  AccessToken,
  RunProgressBoard,
  startWatchServer,
  statusPageHandler,
  systemWatchClock,
  WatchMetrics,
  WatchService,
} from '../../src/watch';
import { openExportctlState } from '../../src/wiring';
import { everyoneEnv, writeEveryoneData, writeEveryoneManifests } from '../support/everyone-world';
import { startExportctl } from '../support/exportctl-cli';
import { quickstartWorld } from '../support/quickstart-world';
import { testSandbox } from '../support/sandbox-client';
import { tempFolder } from '../support/temp-folder';

/** Debian's package; the test starts it headless itself (playwright-core ships no browser). */
const chromiumPath = process.env.EXPORTCTL_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const inCi = process.env.CI === 'true';
if (!haveChromium && !inCi)
  console.warn(
    `status page browser test skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set EXPORTCTL_CHROMIUM); under CI=true it runs and fails instead`,
  );

const token = 'a-long-random-test-token-0123456789';

function progress(done: number, total: number, elapsedMs: number): RunProgress {
  return {
    destination: 'vip-newsletter',
    runId: 99,
    phase: 'import',
    dryRun: false,
    profileRows: 500,
    staged: 480,
    importBatches: { done: 0, total: 1 },
    importContacts: { done, total },
    removals: { done: 0, total: 0 },
    elapsedMs,
  };
}

describe.skipIf(!haveChromium && !inCi)('the status page of watch --listen, in headless Chromium', () => {
  let store: StateStore;
  let browser: Browser;
  let context: BrowserContext;
  const board = new RunProgressBoard();
  const servers: { url: string; close(): Promise<void> }[] = [];
  let open: { url: string };
  let guarded: { url: string };
  let runId: number;
  let secrets: string[];

  beforeAll(async () => {
    // A real state: the quickstart applied and run once against the sandbox (23 row issues).
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    const run = await w.exportctl(['run', 'vip-newsletter']);
    expect(run.code, run.stderr).toBe(0);
    secrets = w.secrets();
    store = await openExportctlState(w.env.EXPORTCTL_STATE);
    const last = (await store.runs.list({ destination: 'vip-newsletter', limit: 1 }))[0];
    runId = last?.id ?? 0;
    const metrics = new WatchMetrics();
    const service = new WatchService({
      paths: [w.manifests],
      cwd: w.home,
      env: w.env,
      store,
      actor: 'watch',
      prune: false,
      debounceMs: 100,
      driftIntervalMs: 0,
      dataStableMs: 100,
      maxConcurrentRuns: 1,
      lockTimeoutMs: 1000,
      clock: systemWatchClock(),
      logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() })),
      metrics,
      runner: async () => ({ status: 'succeeded', imported: 0, removed: 0 }),
    });
    const options = {
      host: '127.0.0.1',
      port: 0,
      metrics,
      isReady: () => service.isReady(),
      status: () => service.status(),
      page: statusPageHandler({ store, status: () => service.status(), progress: board }),
    };
    open = await startWatchServer(options);
    guarded = await startWatchServer({ ...options, token: new AccessToken(token) });
    servers.push(open as never, guarded as never);
    // launch() starts it on a fresh temporary profile (its own --user-data-dir), removed on close.
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--disable-quic',
      ],
    });
    context = await browser.newContext({ acceptDownloads: true });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    for (const server of servers) await server.close();
    await store?.close();
  });

  it('shows the destinations and a run in progress whose progress changes without a reload', async () => {
    board.update(progress(48, 480, 2_000));
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${open.url}/`);
    await expect(page.title()).resolves.toBe('exportctl status');
    const row = page.locator('#destinations tbody tr', { hasText: 'vip-newsletter' });
    await expect(row.locator('td').first().textContent()).resolves.toContain('Ready');
    await expect(row.textContent()).resolves.toContain('marketing-cc');
    await expect(row.textContent()).resolves.toContain(`run ${runId}: succeeded`);
    const live = page.locator('#live-runs tr[data-destination="vip-newsletter"]');
    await expect(live.locator('.contacts').textContent()).resolves.toContain('48 / 480');
    // The engine reports more progress: the page shows it on its next poll, no reload.
    await page.evaluate('window.notReloaded = true');
    board.update(progress(240, 480, 10_000));
    await live.locator('.contacts', { hasText: '240 / 480' }).waitFor({ timeout: 15_000 });
    // 240 of 480 done in 10 s: 10 s left.
    await expect(live.locator('td').nth(5).textContent()).resolves.toBe('10 s');
    board.finish('vip-newsletter');
    await page.locator('#live-runs').waitFor({ state: 'hidden', timeout: 15_000 });
    await expect(page.evaluate('window.notReloaded')).resolves.toBe(true);
    await expect(page.locator('#live-empty').isVisible()).resolves.toBe(true);
    // Every request went to exportctl itself (no CDN), and no secret is on the page.
    expect(requests.every((url) => url.startsWith(open.url))).toBe(true);
    const html = await page.content();
    for (const secret of secrets) expect(html).not.toContain(secret);
    await page.close();
  });

  it("opens a destination's history and downloads a run's row issues as CSV", async () => {
    const page = await context.newPage();
    await page.goto(`${open.url}/`);
    await page.getByRole('link', { name: 'vip-newsletter' }).click();
    await page.waitForURL(`${open.url}/destinations/vip-newsletter`);
    const row = page.locator(`#history tr[data-run="${runId}"]`);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(3, 7)).toEqual(['464', '0', '0', '23']);
    await expect(page.locator('figure.chart rect').count()).resolves.toBe(3);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByRole('link', { name: `row issues of run ${runId} (CSV)` }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`vip-newsletter-run-${runId}-row-issues.csv`);
    expect(await download.failure()).toBeNull();
    const lines = readFileSync((await download.path()) ?? '', 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines[0]).toBe('key,field,reason,where,severity,code');
    expect(lines).toHaveLength(24);
    expect(lines.filter((line) => line.includes(',error,')).length).toBe(11);
    expect(lines.filter((line) => line.includes(',warning,')).length).toBe(12);
    await page.close();
  });

  it('a real watch process: the page loaded during a run shows its progress change, no reload', async () => {
    // 100,000 profiles in 3 import batches, each answered 1.5 s late: the run takes seconds.
    const sandbox = await testSandbox({
      faults: { slow: 1, slowMs: 1_500, paths: ['/activities/contacts_json_import'] },
    });
    const folder = tempFolder();
    const data = join(folder, 'data');
    await writeEveryoneData(data, 100_000);
    writeEveryoneManifests(folder, sandbox, data, '*/5 * * * *');
    const watch = startExportctl(
      [
        'watch',
        '.',
        '--listen',
        '127.0.0.1:0',
        '--drift-interval',
        '0',
        '--clock-start',
        '2026-11-23T05:59:58Z',
      ],
      {
        cwd: folder,
        env: { ...everyoneEnv, EXPORTCTL_STATE: `sqlite:${join(folder, 'state.db')}` },
        timeoutMs: 90_000,
      },
    );
    try {
      await watch.waitFor('run of everyone started (schedule)', 30_000);
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(watch.output())?.[1] ?? '';
      const page = await context.newPage();
      await page.goto(`${url}/`);
      await page.evaluate('window.notReloaded = true');
      const live = page.locator('#live-runs tr[data-destination="everyone"]');
      await live.waitFor({ timeout: 30_000 });
      const first = `${await live.locator('.phase').textContent()} ${await live.locator('.contacts').textContent()}`;
      // The README's picture, of this real watch process in the middle of its run:
      // EXPORTCTL_SCREENSHOT=docs/status-page.png npx vitest run test/browser
      if (process.env.EXPORTCTL_SCREENSHOT) {
        // A batch confirmed: the bar has moved.
        await page.waitForFunction(
          `(() => { const cell = document.querySelector('#live-runs tr[data-destination="everyone"] .contacts');
            return cell !== null && !/^0 \\//.test(cell.textContent.trim()); })()`,
          undefined,
          { timeout: 30_000 },
        );
        await page.setViewportSize({ width: 1100, height: 700 });
        await page.screenshot({ path: process.env.EXPORTCTL_SCREENSHOT, fullPage: true });
      }
      // The next state the engine reports reaches the page by its polling.
      await page.waitForFunction(
        `(() => { const row = document.querySelector('#live-runs tr[data-destination="everyone"]');
          return !row || (row.querySelector('.phase').textContent + ' ' + row.querySelector('.contacts').textContent) !== ${JSON.stringify(first)}; })()`,
        undefined,
        { timeout: 60_000 },
      );
      await expect(page.evaluate('window.notReloaded')).resolves.toBe(true);
      await page.close();
    } finally {
      watch.kill('SIGTERM');
      await watch.done;
      await sandbox.close();
    }
  }, 120_000);

  it('refuses a wrong token and lets the right one in through the one-time login link', async () => {
    const page = await context.newPage();
    expect((await page.goto(`${guarded.url}/`))?.status()).toBe(401);
    expect((await page.goto(`${guarded.url}/login?token=wrong-token-0123456789`))?.status()).toBe(401);
    const wrongBearer = await fetch(`${guarded.url}/status`, { headers: { authorization: 'Bearer nope' } });
    expect(wrongBearer.status).toBe(401);
    const rightBearer = await fetch(`${guarded.url}/status`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(rightBearer.status).toBe(200);
    const answer = await page.goto(`${guarded.url}/login?token=${token}`);
    expect(answer?.status()).toBe(200);
    expect(page.url()).toBe(`${guarded.url}/`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Status');
    const cookies = await context.cookies(guarded.url);
    expect(cookies.map((cookie) => cookie.value).join(' ')).not.toContain(token);
    expect(await page.content()).not.toContain(token);
    await page.close();
  });
});
