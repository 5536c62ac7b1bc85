import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { quickstartWorld } from '../support/quickstart-world';
import { testSandbox } from '../support/sandbox-client';

function storedTokenRows(stateFile: string): number {
  const db = new Database(stateFile, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM oauth_tokens').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('exportctl connection reauthorize NAME', () => {
  it('after a sandbox restart (stored token unknown: invalid_grant), drops the stored chain so the bootstrap token works again', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    const stateFile = join(w.home, 'state.db');
    expect(storedTokenRows(stateFile)).toBe(1);

    // The sandbox restarts without its state file: it knows the seed's bootstrap token again, and
    // none of the tokens it rotated before.
    const { port } = w.sandbox;
    await w.sandbox.close();
    await testSandbox({ port });

    const refused = await w.exportctl(['run', 'vip-newsletter']);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toContain('(invalid_grant)');
    expect(refused.stdout + refused.stderr).toContain('exportctl connection reauthorize marketing-cc');
    const drift = await w.exportctl(['plan', w.manifests]);
    expect(drift.stdout).toContain('! ExportDestination/vip-newsletter: Stalled (CredentialsRejected)');

    const reauthorized = await w.exportctl(['connection', 'reauthorize', 'marketing-cc']);
    expect(reauthorized.stderr).toBe('');
    expect(reauthorized.code).toBe(0);
    expect(reauthorized.stdout).toContain(
      'Dropped the stored OAuth tokens of Connection/marketing-cc: its next token refresh uses the bootstrap refresh token',
    );
    expect(storedTokenRows(stateFile)).toBe(0);

    const plan = await w.exportctl(['plan', w.manifests]);
    expect(plan.stdout.trim()).toBe('No changes.');
    const apply = await w.exportctl(['apply', w.manifests, '--auto-approve']);
    expect(apply.code).toBe(0);
    expect((await w.exportctl(['status'])).code).toBe(0);
    const run = await w.exportctl(['run', 'vip-newsletter']);
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(0);
    expect(storedTokenRows(stateFile)).toBe(1);

    const again = await w.exportctl(['connection', 'reauthorize', 'marketing-cc', '--output', 'json']);
    expect(JSON.parse(again.stdout)).toEqual({ connection: 'marketing-cc', droppedTokens: true });
  });

  it('refuses an unknown connection, naming the applied ones', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    const result = await w.exportctl(['connection', 'reauthorize', 'marketing']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error: Connection/marketing is not applied in');
    expect(result.stderr).toContain('applied connections: marketing-cc');
  });

  it('takes the control-plane lock and needs an administrator when an Access is applied', async () => {
    const w = await quickstartWorld({ faults: { slow: 1, slowMs: 1500 } });
    const first = w.startExportctl(['apply', w.manifests, '--auto-approve']);
    await first.waitFor('Connection/marketing-cc: creating...');
    const waiting = await w.exportctl([
      'connection',
      'reauthorize',
      'marketing-cc',
      '--lock-timeout',
      '200ms',
    ]);
    expect(waiting.code).toBe(1);
    expect(waiting.stderr).toMatch(/the control-plane lock is held by ops@example\.com running `apply`/);
    expect((await first.done).code).toBe(0);
    w.sandbox.setFaults({});

    const contributor = await w.exportctl(['connection', 'reauthorize', 'marketing-cc'], {
      EXPORTCTL_ACTOR: 'analyst@example.com',
    });
    expect(contributor.code).toBe(1);
    expect(contributor.stderr).toContain(
      'analyst@example.com is a contributor: only administrators may reauthorize Connection/marketing-cc',
    );
  });
});

describe('destroy --help', () => {
  it('says that contacts already in a list stay there, and how to empty the list', async () => {
    const w = await quickstartWorld();
    const help = (await w.exportctl(['destroy', '--help'])).stdout;
    expect(help).toContain('Constant Contact is not changed');
    expect(help).toContain('contacts already exported stay in their lists');
    expect(help).toContain('removal: remove-from-list');
  });
});
