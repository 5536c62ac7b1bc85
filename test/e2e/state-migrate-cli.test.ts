import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes';
import { openExportctlState } from '../../src/wiring';
import type { CliResult } from '../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { quickstartWorld } from '../support/quickstart-world';

let server: PostgresServer;
let database: string;

beforeAll(async () => {
  server = await startPostgresServer();
  database = await server.createDatabase('cli_migrate');
}, 60_000);

afterAll(async () => {
  await server?.dispose();
});

const key = randomBytes(32).toString('base64');
const schema = () => `migrate_${randomBytes(4).toString('hex')}`;

const printed: string[] = [];
const seen = (result: CliResult) => {
  printed.push(result.stdout, result.stderr);
  return result;
};

describe('exportctl state migrate, through the CLI', () => {
  it('moves a SQLite state that has exported to the sandbox into PostgreSQL: the next run sends nothing', async () => {
    const w = await quickstartWorld();
    const sqlite = `sqlite:${join(w.home, 'state.db')}`;
    const url = server.url({ database, schema: schema() });
    const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => seen(await w.exportctl(args, env));

    const applied = await cli(['apply', w.manifests, '--auto-approve']);
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    const first = await cli(['run', 'vip-newsletter']);
    expect(first.code).toBe(0);

    const migrate = await cli(['state', 'migrate', '--from', sqlite, '--to', url], {
      EXPORTCTL_SECRET_KEY: key,
    });
    expect([migrate.code, migrate.stderr]).toEqual([ExitCode.Success, '']);
    expect(migrate.stdout).toMatch(/applied resources\s+6\n/);
    expect(migrate.stdout).toMatch(/secrets\s+2 /);
    expect(migrate.stdout).toMatch(/runs\s+1\n/);
    expect(migrate.stdout).toMatch(/snapshot rows\s+464 \(1 destination\)/);
    expect(migrate.stdout).toMatch(/row issues\s+23 \(1 run\)/);
    expect(migrate.stdout).toContain('Next: use the new state with --state');

    // Every command on the new state: nothing to apply, the run sends nothing, the history is there.
    const onPostgres = { EXPORTCTL_STATE: url, EXPORTCTL_SECRET_KEY: key };
    const plan = await cli(['plan', w.manifests, '--detailed-exitcode'], onPostgres);
    expect([plan.code, plan.stdout.trim()]).toEqual([0, 'No changes.']);
    const rerun = await cli(['run', 'vip-newsletter'], onPostgres);
    expect(rerun.code).toBe(0);
    expect(first.stdout).toContain('+464 new');
    expect(rerun.stdout).toContain(
      'unchanged, 464 contacts as the last run left them; nothing read, nothing sent',
    );
    expect(rerun.stdout).toContain('(0 writes,');
    const issues = await cli(['runs', 'vip-newsletter', '1', '--row-issues'], onPostgres);
    expect(issues.code).toBe(0);
    expect(issues.stdout.trim().split('\n')).toHaveLength(1 + 23);
    const runs = await cli(['runs', 'vip-newsletter', '--output', 'json'], onPostgres);
    expect(runs.code).toBe(0);
    const history = JSON.parse(runs.stdout) as { id: number }[] | { runs: { id: number }[] };
    const ids = (Array.isArray(history) ? history : history.runs).map((run) => run.id);
    expect(ids).toHaveLength(2);
    expect(Math.min(...ids)).toBe(1);

    // Again into the same target: refused, and it says what the target holds.
    const twice = await cli(['state', 'migrate', '--from', sqlite, '--to', url], {
      EXPORTCTL_SECRET_KEY: key,
    });
    expect(twice.code).toBe(ExitCode.Error);
    expect(twice.stderr).toContain('is not empty: it holds 6 applied resources');
    expect(twice.stderr).toContain('--force');
    const forced = await cli(['state', 'migrate', '--from', sqlite, '--to', url, '--force'], {
      EXPORTCTL_SECRET_KEY: key,
    });
    expect(forced.code).toBe(ExitCode.Success);
    expect(forced.stdout).toContain('(replacing what it held)');
    const after = await cli(['runs', 'vip-newsletter', '--output', 'json'], onPostgres);
    const afterRuns = JSON.parse(after.stdout) as { id: number }[] | { runs: { id: number }[] };
    expect((Array.isArray(afterRuns) ? afterRuns : afterRuns.runs).map((run) => run.id)).toEqual([1]);

    expect(printed.join('\n')).not.toContain(server.password);
    expect(printed.join('\n')).not.toContain(key);
  }, 180_000);

  it('refuses an unfinished run in the source, a PostgreSQL target without a key, and one state twice', async () => {
    const w = await quickstartWorld();
    const sqlite = `sqlite:${join(w.home, 'state.db')}`;
    const url = server.url({ database, schema: schema() });
    const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => seen(await w.exportctl(args, env));
    const applied = await cli(['apply', w.manifests, '--auto-approve']);
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    const store = await openExportctlState(sqlite, { cwd: w.home, env: {} });
    const started = await store.runs.start({ destination: 'vip-newsletter', trigger: 'manual' });
    await store.close();

    const unfinished = await cli(['state', 'migrate', '--from', sqlite, '--to', url], {
      EXPORTCTL_SECRET_KEY: key,
    });
    expect(unfinished.code).toBe(ExitCode.Error);
    expect(unfinished.stderr).toContain(`ExportDestination/vip-newsletter run ${started.id} (running)`);
    expect(unfinished.stderr).toContain('exportctl run vip-newsletter');
    // Nothing was written to the target.
    const status = await cli(['status'], { EXPORTCTL_STATE: url, EXPORTCTL_SECRET_KEY: key });
    expect(status.stdout).toContain('Nothing is applied');

    const noKey = await cli(['state', 'migrate', '--from', sqlite, '--to', url], {
      EXPORTCTL_SECRET_KEY: '',
    });
    expect(noKey.code).toBe(ExitCode.Error);
    expect(noKey.stderr).toContain('EXPORTCTL_SECRET_KEY');

    const same = await cli(['state', 'migrate', '--from', url, '--to', url], { EXPORTCTL_SECRET_KEY: key });
    expect(same.code).toBe(ExitCode.Error);
    expect(same.stderr).toContain('--from and --to both name the state');
    expect(printed.join('\n')).not.toContain(server.password);
  }, 120_000);
});
