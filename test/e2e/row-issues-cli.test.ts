import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox';
import { everyoneEnv } from '../support/everyone-world';
import { runExportctl } from '../support/exportctl-cli';
import { quickstartCopy } from '../support/quickstart-world';
import { tempFolder } from '../support/temp-folder';

let sandbox: SandboxHandle;
beforeAll(async () => {
  sandbox = await startSandbox({
    port: 0,
    activityTiming: { startDelayMs: 5, baseDurationMs: 20, perItemMs: 0 },
    clientLimits: { requestsPerSecond: 100 },
  });
});
afterAll(async () => {
  await sandbox.close();
});

describe('exportctl runs NAME RUN --row-issues (the built CLI against the sandbox)', () => {
  it('prints a run’s row issues as CSV from the state, in another folder than the run’s', async () => {
    const folder = quickstartCopy(sandbox);
    const cli = (args: readonly string[], cwd = folder) =>
      runExportctl(args, { cwd, env: everyoneEnv, timeoutMs: 60_000 });
    expect((await cli(['apply', '--auto-approve', '.'])).code).toBe(0);
    const ran = await cli(['run', 'vip-newsletter']);
    expect(ran.code, ran.stderr).toBe(0);
    const runId = /vip-newsletter: run (\d+) succeeded/.exec(ran.stdout)?.[1];
    expect(runId).toBeDefined();
    expect(ran.stdout).toContain(
      `row issues: 11 errors, 12 warnings; as CSV: exportctl runs vip-newsletter ${runId} --row-issues > issues.csv`,
    );
    // Nothing is written beside the state any more: the issues are in it.
    expect(existsSync(join(folder, '.exportctl', 'runs'))).toBe(false);

    // Another folder (another machine, as far as files go): only the state is shared.
    const elsewhere = tempFolder();
    const state = `sqlite:${join(folder, '.exportctl', 'state.db')}`;
    const printed = await cli(
      ['runs', 'vip-newsletter', String(runId), '--row-issues', '--state', state],
      elsewhere,
    );
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout.split('\n')[0]).toBe('key,field,reason,where,severity,code');
    const rows = parseCsv(printed.stdout, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(23);
    expect(rows.filter((row) => row.severity === 'error')).toHaveLength(11);
    expect(rows.filter((row) => row.severity === 'warning')).toHaveLength(12);
    for (const row of rows) {
      expect(row.where).toMatch(/^[\w.-]+\.csv:\d+$/);
      expect(row.code).toMatch(/^[a-z0-9-]+$/);
      expect(row.reason).not.toBe('');
    }
    // The summary from there says the same, and where to get them.
    const summary = await cli(['runs', 'vip-newsletter', String(runId), '--state', state], elsewhere);
    expect(summary.code, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(new RegExp(`^vip-newsletter: run ${runId} succeeded`));
    expect(summary.stdout).toContain(`exportctl runs vip-newsletter ${runId} --row-issues > issues.csv`);

    // A run that read nothing (unchanged) has none: the header alone.
    const again = await cli(['run', 'vip-newsletter']);
    expect(again.code, again.stderr).toBe(0);
    const second = /vip-newsletter: run (\d+) succeeded/.exec(again.stdout)?.[1];
    const none = await cli(
      ['runs', 'vip-newsletter', String(second), '--row-issues', '--state', state],
      elsewhere,
    );
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('key,field,reason,where,severity,code\n');

    // A run recorded by an earlier version names the CSV file it wrote beside the state: printed
    // when it is here, a clear error when it is not.
    const file = join(folder, '.exportctl', 'runs', 'vip-newsletter', `${second}-row-errors.csv`);
    const db = new Database(join(folder, '.exportctl', 'state.db'));
    db.prepare(`UPDATE runs SET record = json_set(record, '$.rowIssues.csv', ?) WHERE id = ?`).run(
      file,
      Number(second),
    );
    db.close();
    const missing = await cli(
      ['runs', 'vip-newsletter', String(second), '--row-issues', '--state', state],
      elsewhere,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`wrote its row issues to ${file} on the machine that ran it`);
    expect(existsSync(join(folder, '.exportctl', 'runs'))).toBe(false);
    const old =
      'key,field,reason,where,severity,code\nC1,EmailAddress,bad,profiles.csv:2,error,invalid-email\n';
    mkdirSync(join(folder, '.exportctl', 'runs', 'vip-newsletter'), { recursive: true });
    writeFileSync(file, old);
    const fromFile = await cli(
      ['runs', 'vip-newsletter', String(second), '--row-issues', '--state', state],
      elsewhere,
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toBe(old);
    const oldSummary = await cli(['runs', 'vip-newsletter', String(second), '--state', state], elsewhere);
    expect(oldSummary.stdout).not.toContain('--row-issues');

    // A run the history does not have, or not of that destination: the clear error, nothing on stdout.
    for (const [name, id] of [
      ['vip-newsletter', '999'],
      ['win-back', String(runId)],
    ] as const) {
      const unknown = await cli(['runs', name, id, '--row-issues', '--state', state], elsewhere);
      expect(unknown.code).toBe(1);
      expect(unknown.stdout).toBe('');
      expect(unknown.stderr).toContain(
        `run ${id} of ${name} is not in the run history of ${join(folder, '.exportctl', 'state.db')}`,
      );
    }
  });
});
