import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../support/postgres-server';
import { quickstartWorld } from '../support/quickstart-world';

let server: PostgresServer;
let database: string;

beforeAll(async () => {
  server = await startPostgresServer();
  database = await server.createDatabase('cli_state');
}, 60_000);

afterAll(async () => {
  await server?.dispose();
});

const key = randomBytes(32).toString('base64');
const schema = () => `cli_${randomBytes(4).toString('hex')}`;

/** Every byte a command printed, for the password check. */
const printed: string[] = [];
const seen = (result: CliResult) => {
  printed.push(result.stdout, result.stderr);
  return result;
};

describe('plan / apply / destroy / status / runs on a PostgreSQL state, through the CLI', () => {
  it('reconciles against the sandbox with --state postgres://… and EXPORTCTL_STATE alike', async () => {
    const w = await quickstartWorld();
    const url = server.url({ database, schema: schema() });
    const viaEnv = { EXPORTCTL_STATE: url, EXPORTCTL_SECRET_KEY: key };
    const viaFlag = { EXPORTCTL_SECRET_KEY: key };
    const cli = async (args: string[], env: NodeJS.ProcessEnv) => seen(await w.exportctl(args, env));

    const plan = await cli(['plan', w.manifests, '--state', url, '--detailed-exitcode'], viaFlag);
    expect(plan.stdout).toContain('Plan: 6 to add, 0 to change, 0 to destroy.');
    expect(plan.code).toBe(2);
    const apply = await cli(['apply', w.manifests, '--auto-approve'], viaEnv);
    expect(apply.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');
    expect(apply.code).toBe(0);
    const again = await cli(['plan', w.manifests, '--state', url, '--detailed-exitcode'], viaFlag);
    expect([again.code, again.stdout.trim()]).toEqual([0, 'No changes.']);

    const status = await cli(['status', '--output', 'json'], viaEnv);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { resources: { name: string; state: string }[] };
    expect(parsed.resources).toHaveLength(6);
    expect(parsed.resources.find((item) => item.name === 'vip-newsletter')?.state).toBe('Ready');
    const text = await cli(['status', '--state', url], viaFlag);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('vip-newsletter');
    const runs = await cli(['runs', '--state', url], viaFlag);
    expect(runs.code).toBe(0);
    // Nothing was written beside the manifests: the state is in PostgreSQL.
    expect(existsSync(join(w.home, 'state.db'))).toBe(false);

    const destroy = await cli(['destroy', w.manifests, '--auto-approve'], viaEnv);
    expect(destroy.stdout).toContain('Destroy complete! Resources: 0 added, 0 changed, 6 destroyed.');
    expect((await cli(['status'], viaEnv)).stdout).toContain('Nothing is applied');
    expect(printed.join('\n')).not.toContain(server.password);
  }, 120_000);

  it('two applies started together on one new PostgreSQL state: one applies, the other waits and finds nothing to do', async () => {
    const w = await quickstartWorld();
    const env = { EXPORTCTL_STATE: server.url({ database, schema: schema() }), EXPORTCTL_SECRET_KEY: key };
    const both = await Promise.all([
      w.exportctl(['apply', w.manifests, '--auto-approve'], env),
      w.exportctl(['apply', w.manifests, '--auto-approve'], env),
    ]);
    both.forEach(seen);
    expect(both.map((result) => [result.code, result.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    const waited = both.findIndex((result) => result.stdout.trim() === 'No changes.');
    expect(waited).toBeGreaterThanOrEqual(0);
    expect(both[1 - waited]?.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');
  }, 120_000);

  it('fails clearly, and without the password, when the key, the password or the server is wrong', async () => {
    const w = await quickstartWorld();
    const url = server.url({ database, schema: schema() });
    const noKey = seen(await w.exportctl(['apply', w.manifests, '--auto-approve'], { EXPORTCTL_STATE: url }));
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toContain('EXPORTCTL_SECRET_KEY');
    // Nothing was written: the state is still empty.
    const empty = seen(await w.exportctl(['status'], { EXPORTCTL_STATE: url }));
    expect(empty.stdout).toContain('Nothing is applied');

    const wrongPassword = `wrong-${randomBytes(6).toString('hex')}`;
    const denied = seen(
      await w.exportctl(['plan', w.manifests, '--state', server.url({ database, password: wrongPassword })], {
        EXPORTCTL_SECRET_KEY: key,
      }),
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('password authentication failed for user exportctl');
    expect(denied.stderr).not.toContain(wrongPassword);

    const unreachable = seen(
      await w.exportctl(['status', '--state', `postgres://exportctl:${server.password}@127.0.0.1:1/db`], {}),
    );
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain('127.0.0.1:1');

    const run = seen(
      await w.exportctl(['run', 'vip-newsletter'], { EXPORTCTL_STATE: url, EXPORTCTL_SECRET_KEY: key }),
    );
    expect(run.code).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain('export runs cannot use the PostgreSQL state');
    expect(printed.join('\n')).not.toContain(server.password);
    expect(printed.join('\n')).not.toContain(wrongPassword);
  }, 120_000);
});
