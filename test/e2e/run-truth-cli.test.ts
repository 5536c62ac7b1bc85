import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runExportctl } from '../support/exportctl-cli';
import { quickstartCopy, quickstartWorld } from '../support/quickstart-world';
import { testSandbox } from '../support/sandbox-client';
import { tempFolder } from '../support/temp-folder';

const day = 86_400_000;

/**
 * The quickstart applied against a sandbox whose API key may send `requestsPerDay` requests a day,
 * and whose days pass when the test says (`nextDay`); the CLI in a temp folder with its own state.
 */
async function quotaWorld(requestsPerDay: number, options: { sourcesApart?: boolean } = {}) {
  let offset = 0;
  const sandbox = await testSandbox({
    now: () => Date.now() + offset,
    clientLimits: { requestsPerSecond: 100, requestsPerDay },
  });
  const manifests = quickstartCopy(sandbox);
  if (options.sourcesApart) {
    // win-back on a source of its own (a copy of the data): the destinations of one source run
    // together on one read, those of two sources one source at a time with --concurrency 1.
    cpSync(join(manifests, 'data'), join(manifests, 'data-win-back'), { recursive: true });
    const profiles = readFileSync(join(manifests, 'profiles.yaml'), 'utf8');
    writeFileSync(
      join(manifests, 'profiles.yaml'),
      `${profiles}---\n${profiles.replace('name: unified-profiles', 'name: win-back-profiles').replaceAll('data/', 'data-win-back/')}`,
    );
    const destinations = join(manifests, 'destinations.yaml');
    const [vip, winBack] = readFileSync(destinations, 'utf8').split('name: win-back');
    writeFileSync(
      destinations,
      `${vip}name: win-back${winBack?.replace('source: unified-profiles', 'source: win-back-profiles')}`,
    );
  }
  const home = tempFolder();
  const env = {
    CC_CLIENT_SECRET: 'sandbox-secret',
    CC_REFRESH_TOKEN: 'sandbox-refresh-token',
    EXPORTCTL_ACTOR: 'ops@example.com',
    EXPORTCTL_STATE: `sqlite:${join(home, 'state.db')}`,
  };
  const exportctl = (args: readonly string[]) => runExportctl(args, { cwd: home, env });
  expect((await exportctl(['apply', manifests, '--auto-approve'])).code).toBe(0);
  return {
    exportctl,
    nextDay() {
      offset += day;
    },
  };
}

// Issue #22 (7): what `run`, `runs` and `status` say about one run agrees, and a dry run hides nothing.
describe('run, runs and status tell one story (the built CLI against the sandbox)', () => {
  it('status shows the last real run, failed, and a dry run after it apart', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    const profiles = join(w.manifests, 'data', 'profiles.csv');
    const good = readFileSync(profiles, 'utf8');
    // A quote never closed: the source cannot be read whole, so the real run fails.
    writeFileSync(profiles, `${good}C9999999,"broken@example.com,Bro,Ken,US,1.00\n`);
    const failed = await w.exportctl(['run', 'vip-newsletter']);
    expect(failed.code).toBe(1);
    writeFileSync(profiles, good);
    const dry = await w.exportctl(['run', 'vip-newsletter', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);

    const status = await w.exportctl(['status']);
    const line = status.stdout.split('\n').find((row) => row.startsWith('ExportDestination/vip-newsletter'));
    expect(line).toMatch(
      / {2}failed \(source-unterminated-quote\) \S+ \+0 ~0 -0 =0; last dry run: succeeded \S+ plan \+464 ~0 -0$/,
    );
    const json = JSON.parse((await w.exportctl(['status', '--output', 'json'])).stdout) as {
      resources: {
        name: string;
        lastRun: { status: string } | null;
        lastDryRun: { status: string } | null;
      }[];
    };
    const vip = json.resources.find((resource) => resource.name === 'vip-newsletter');
    expect(vip?.lastRun).toMatchObject({ status: 'failed', error: { code: 'source-unterminated-quote' } });
    expect(vip?.lastDryRun).toMatchObject({ status: 'succeeded', dryRun: true });
    // A destination that never ran for real says so, dry run or not.
    const winBack = json.resources.find((resource) => resource.name === 'win-back');
    expect(winBack?.lastRun).toBeNull();
  });

  it('a resumed run took as long in its summary as in runs: the time its processes worked on it', async () => {
    const w = await quotaWorld(2);
    w.nextDay();
    const paused = await w.exportctl(['run', 'vip-newsletter']);
    expect(paused.stdout).toMatch(/^vip-newsletter: run \d+ paused in /m);
    // Paused is not failed: it has its own exit code.
    expect(paused.code).toBe(3);
    // Time passes between the pause and the resume; it is not time the run worked.
    await sleep(1_500);
    let resumed = paused;
    for (let days = 0; days < 10 && !/ succeeded /.test(resumed.stdout); days++) {
      w.nextDay();
      resumed = await w.exportctl(['run', 'vip-newsletter']);
    }
    const [, id, took] =
      /^vip-newsletter: run (\d+) succeeded \(resumed\) in ([^:]+):/m.exec(resumed.stdout) ?? [];
    expect(took, resumed.stdout).toBeDefined();
    const table = (await w.exportctl(['runs', 'vip-newsletter'])).stdout.split('\n');
    const columns = table[0]?.split(/ {2,}/) ?? [];
    const row = table.find((line) => line.startsWith(`${id} `))?.split(/ {2,}/) ?? [];
    expect(row[columns.indexOf('TOOK')]).toBe(took);
    const json = JSON.parse((await w.exportctl(['runs', 'vip-newsletter', '--output', 'json'])).stdout) as {
      runs: { id: number; durationMs: number; record: { timingsMs: { total: number } } }[];
    };
    const run = json.runs.find((entry) => entry.id === Number(id));
    expect(run?.durationMs).toBe(run?.record.timingsMs.total);
  });

  it('run --all exits 1 when one run failed and another paused: failed comes first', async () => {
    const w = await quotaWorld(2, { sourcesApart: true });
    w.nextDay();
    // One source at a time: vip-newsletter plans and pauses on the quota, then win-back cannot start.
    const result = await w.exportctl(['run', '--all', '--concurrency', '1']);
    expect(result.stdout).toMatch(/^vip-newsletter: run \d+ paused in /m);
    expect(result.stdout).toMatch(/^win-back: run \d+ failed in /m);
    expect(result.code).toBe(1);
  });
});
