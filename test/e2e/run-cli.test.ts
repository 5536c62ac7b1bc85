import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox';
import { everyoneEnv } from '../support/everyone-world';
import { runExportctl } from '../support/exportctl-cli';
import { quickstartCopy } from '../support/quickstart-world';

const env = everyoneEnv;

/** The quickstart in a temp folder, its connection pointed at `sandbox`, applied. */
async function quickstart(sandbox: SandboxHandle): Promise<typeof runExportctl> {
  const folder = quickstartCopy(sandbox);
  const cli: typeof runExportctl = (args, options = {}) =>
    runExportctl(args, { cwd: folder, env, timeoutMs: 60_000, ...options });
  const applied = await cli(['apply', '--auto-approve', '.']);
  expect(applied.code, applied.stderr).toBe(0);
  return cli;
}

let sandbox: SandboxHandle;
let cli: typeof runExportctl;
// One sandbox for the file (testSandbox closes its sandboxes after each test): the tests go on from
// each other's state, in order.
beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 100 },
  });
  cli = await quickstart(sandbox);
});
afterAll(async () => {
  await sandbox.close();
});

describe('exportctl run, runs, status (the built CLI against the sandbox)', () => {
  it('--dry-run prints the data plan and sends nothing', async () => {
    const before = sandbox.stats();
    const result = await cli(['run', 'vip-newsletter', '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(sandbox.stats().total).toBe(before.total);
    expect(sandbox.stats().tokenRequests).toBe(before.tokenRequests);
    expect(result.stdout).toContain(
      'Data plan for vip-newsletter (list 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a): nothing is sent',
    );
    expect(result.stdout).toMatch(
      /\+ 464 to add\n {2}~ 0 to update\n {2}= 0 unchanged\n {2}- 0 to remove \(removal: keep\)/,
    );
    expect(result.stdout).toMatch(/API: 1 import call \(<= 40,000 contacts, < 4 MB each\), 0 removal calls/);
    expect(result.stdout).toMatch(/ETA: about 3 requests at 4 requests\/second/);
  });

  it('runs every destination, logs progress without a terminal, and records each run', async () => {
    const result = await cli(['run', '--all']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^vip-newsletter: run \d+ succeeded in .*: 464 contacts selected; \+464 new, ~0 changed, =0 unchanged, -0 removed$/m,
    );
    expect(result.stdout).toMatch(
      /^ {2}imported 464 in 1 call; 2 unsubscribed in Constant Contact \(not added, never re-added\)$/m,
    );
    expect(result.stdout).toMatch(/^win-back: run \d+ succeeded/m);
    expect(result.stdout).toMatch(
      /row issues: 11 errors, 12 warnings; as CSV: exportctl runs vip-newsletter \d+ --row-issues > issues\.csv/,
    );
    expect(result.stderr).toMatch(
      /^vip-newsletter: run \d+: importing: 0\/1 call confirmed, 0\/464 contacts/m,
    );
    // The log says how far the read got, never "0 profile rows" for a read that read 1,000.
    expect(result.stderr).not.toMatch(/reading: 0 profile rows/);
    expect(result.stderr).toMatch(
      /^vip-newsletter: run \d+: planning: [\d,]+ contacts from 1,000 profile rows read/m,
    );

    const runs = await cli(['runs', '--output', 'json']);
    const history = JSON.parse(runs.stdout) as {
      runs: {
        destination: string;
        status: string;
        trigger: string;
        actor: string;
        record: { dryRun: boolean; counts: { imported: number } };
      }[];
    };
    expect(history.runs.map((run) => [run.destination, run.status, run.record.dryRun])).toEqual(
      expect.arrayContaining([
        ['vip-newsletter', 'succeeded', false],
        ['win-back', 'succeeded', false],
        ['vip-newsletter', 'succeeded', true],
      ]),
    );
    expect(history.runs.at(-1)?.record.dryRun).toBe(true);
    expect(history.runs[0]).toMatchObject({ trigger: 'manual', actor: 'ops@example.com' });

    const table = await cli(['runs', 'vip-newsletter']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^ID +DESTINATION +STATUS +TRIGGER +STARTED +TOOK +CHANGES +ACTOR +NOTE$/,
    );
    expect(table.stdout).toMatch(/vip-newsletter +succeeded +manual .* \+464 ~0 -0 =0 +ops@example\.com/);
    expect(table.stdout).toMatch(/vip-newsletter +dry run succeeded .* plan \+464 ~0 -0/);

    const status = await cli(['status']);
    expect(status.stdout).toMatch(/ExportDestination\/vip-newsletter +Ready .* succeeded \S+ \+464 ~0 -0 =0/);

    const again = await cli(['run', 'vip-newsletter', '--output', 'json']);
    const rerun = JSON.parse(again.stdout) as {
      runs: { status: string; record: { apiCalls: { writes: number } } }[];
    };
    expect(rerun.runs[0]).toMatchObject({ status: 'succeeded', record: { apiCalls: { writes: 0 } } });
  });

  it('--due runs only what its schedule says is due, and says why the others are not', async () => {
    const result = await cli(['run', '--due']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Nothing is due.\n');
    expect(result.stderr).toMatch(
      /^vip-newsletter: not due \(Refresh cron "0 \*\/6 \* \* \*" \(UTC\) has not fired since .*; next /m,
    );
    expect(result.stderr).toMatch(/^win-back: not due \(its cron "0 8 \* \* 1" \(UTC\)/m);
  });

  it('exits 1 for a destination that cannot run, and for a command line without a target', async () => {
    const unknown = await cli(['run', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /nope: error: ExportDestination\/nope is not applied in .*state\.db\n {2}hint: apply the manifests first/,
    );
    const none = await cli(['run']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/say which destination to run: a NAME, --all, or --due/);
    const both = await cli(['run', '--all', '--due']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/use --all \(every destination now\) or --due \(those due\), not both/);
    // An unknown NAME with --due is an error, and nothing else is said first.
    const unknownDue = await cli(['run', '--due', 'nope']);
    expect(unknownDue.code).toBe(1);
    expect(unknownDue.stdout).toBe('');
    expect(unknownDue.stderr).toMatch(/ExportDestination\/nope is not applied/);
  });
});
