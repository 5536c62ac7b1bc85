import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox';
import { quickstartWorld } from '../support/quickstart-world';

const WIN_BACK_DOC =
  /---\n# yaml-language-server[^\n]*\napiVersion: exportctl\/v1\nkind: ExportDestination\nmetadata:\n {2}name: win-back[\s\S]*$/;

describe('plan / apply / destroy through the CLI, against the sandbox over HTTP, on a real SQLite file', () => {
  it('create -> no changes -> update -> replace -> prune -> destroy', async () => {
    const w = await quickstartWorld();
    const plan = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(plan.stdout).toContain('Plan: 6 to add, 0 to change, 0 to destroy.');
    expect(plan.code).toBe(2);

    const apply = await w.exportctl(['apply', w.manifests, '--auto-approve']);
    expect(apply.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');
    expect(apply.code).toBe(0);

    const again = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(again.stdout.trim()).toBe('No changes.');
    expect(again.code).toBe(0);

    w.edit('destinations.yaml', (text) => text.replace('segments: [VIP, Newsletter]', 'segments: [VIP]'));
    const update = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(update.code).toBe(2);
    expect(update.stdout).toContain('~ ExportDestination/vip-newsletter');
    expect(update.stdout).toContain('~ spec.segments: ["VIP","Newsletter"] -> ["VIP"]');
    expect(update.stdout).toContain('Plan: 0 to add, 1 to change, 0 to destroy.');
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);

    const list = w.sandbox.account.createList('Win-back 2027', false, Date.now());
    if (!list) throw new Error('the sandbox did not create the list');
    w.edit('destinations.yaml', (text) => text.replace('6b4f0a52-3c1e-4d8a-9f27-2e5b7c9d1a34', list.listId));
    const replace = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(replace.stdout).toContain('-/+ ExportDestination/win-back (spec.listId forces replacement)');
    expect(replace.stdout).toContain('Plan: 1 to add, 0 to change, 1 to destroy.');
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    const status = JSON.parse((await w.exportctl(['status', '--output', 'json'])).stdout) as {
      resources: { kind: string; name: string; state: string; remoteFacts: Record<string, unknown> | null }[];
    };
    expect(status.resources.find((item) => item.name === 'win-back')).toMatchObject({
      state: 'Ready',
      remoteFacts: { listId: list.listId, listName: 'Win-back 2027' },
    });

    w.edit('destinations.yaml', (text) => text.replace(WIN_BACK_DOC, ''));
    const kept = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain(
      'Not declared in PATH (kept; pass --prune to delete): ExportDestination/win-back',
    );
    const prune = await w.exportctl(['plan', w.manifests, '--prune', '--detailed-exitcode']);
    expect(prune.code).toBe(2);
    expect(prune.stdout).toContain('- ExportDestination/win-back');
    const pruned = await w.exportctl(['apply', w.manifests, '--prune', '--auto-approve']);
    expect(pruned.stdout).toContain('Apply complete! Resources: 0 added, 0 changed, 1 destroyed.');

    const destroy = await w.exportctl(['destroy', w.manifests, '--auto-approve']);
    expect(destroy.stdout).toContain('Destroy complete! Resources: 0 added, 0 changed, 5 destroyed.');
    expect(destroy.stdout.indexOf('ExportDestination/vip-newsletter: deleted')).toBeLessThan(
      destroy.stdout.indexOf('Connection/marketing-cc: deleted'),
    );
    expect((await w.exportctl(['status'])).stdout).toContain('Nothing is applied');
  });

  it('refuses to apply without a terminal unless --auto-approve', async () => {
    const w = await quickstartWorld();
    const result = await w.exportctl(['apply', w.manifests]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refusing to make changes without confirmation');
    expect((await w.exportctl(['status'])).stdout).toContain('Nothing is applied');
  });

  it('two applies at once: the second waits for the lock or fails naming the holder; the state stays intact', async () => {
    // Every answer waits 2 s: the first apply holds the lock for several seconds (it makes about three
    // requests), far longer than the second needs to start and give up.
    const w = await quickstartWorld({ faults: { slow: 1, slowMs: 2000 } });
    const first = w.startExportctl(['apply', w.manifests, '--auto-approve']);
    await first.waitFor('Connection/marketing-cc: creating...');
    const impatient = await w.exportctl(['apply', w.manifests, '--auto-approve', '--lock-timeout', '200ms']);
    expect(impatient.code).toBe(1);
    expect(impatient.stderr).toMatch(
      /the control-plane lock is held by ops@example\.com running `apply` \(pid \d+ on .+\) since .+; waited/,
    );
    const patient = w.startExportctl(['apply', w.manifests, '--auto-approve', '--lock-timeout', '60s']);
    expect((await first.done).code).toBe(0);
    const second = await patient.done;
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('No changes.');
    w.sandbox.setFaults({});
    const plan = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(plan.stdout.trim()).toBe('No changes.');
  });

  it('two applies started together on a state that does not exist yet: the second waits for the lock', async () => {
    // Issue #13 (5): the second used to fail at once with "database is locked" while the first
    // created the state. The race is narrow (test/integration/state/fresh-state-open.test.ts pins
    // it); this checks the whole command, on eight fresh states, default --lock-timeout.
    for (let round = 0; round < 8; round++) {
      const w = await quickstartWorld();
      const both = await Promise.all([
        w.exportctl(['apply', w.manifests, '--auto-approve']),
        w.exportctl(['apply', w.manifests, '--auto-approve']),
      ]);
      expect(both.map((result) => [result.code, result.stderr])).toEqual([
        [0, ''],
        [0, ''],
      ]);
      // Whichever got the lock first applied everything; the other then found nothing to do.
      const waited = both.findIndex((result) => result.stdout.trim() === 'No changes.');
      expect(waited).toBeGreaterThanOrEqual(0);
      expect(both[1 - waited]?.stdout).toContain(
        'Apply complete! Resources: 6 added, 0 changed, 0 destroyed.',
      );
    }
  }, 60_000);

  it('an apply killed with SIGKILL half-way converges on the next apply', async () => {
    const w = await quickstartWorld({ faults: { slow: 1, slowMs: 400 } });
    const doomed = w.startExportctl(['apply', w.manifests, '--auto-approve']);
    await doomed.waitFor('Connection/marketing-cc: created');
    doomed.child.kill('SIGKILL');
    const killed = await doomed.done;
    expect(killed.signal).toBe('SIGKILL');
    const partial = JSON.parse((await w.exportctl(['status', '--output', 'json'])).stdout) as {
      resources: { kind: string }[];
    };
    expect(partial.resources.length).toBeGreaterThanOrEqual(4);
    expect(partial.resources.length).toBeLessThan(6);

    w.sandbox.setFaults({});
    // The dead apply's lock is taken over (same host, its pid is gone).
    const resumed = await w.exportctl(['apply', w.manifests, '--auto-approve', '--lock-timeout', '5s']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/Apply complete! Resources: [12] added, 0 changed, 0 destroyed\./);
    const plan = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(plan.stdout.trim()).toBe('No changes.');
  });

  it('drift: a list deleted in Constant Contact fails plan and apply, naming the destination, the list and what to do', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    w.sandbox.account.deleteList('04fe9a97-a579-43c5-bb1a-58ed29bf0a6a');
    w.edit('destinations.yaml', (text) => text.replace('segments: [VIP, Newsletter]', 'segments: [VIP]'));
    // 1 wins over 2: there are changes, but the refresh failed.
    const plan = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      '! ExportDestination/vip-newsletter: Stalled (ListNotFound): list 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a does not exist in Constant Contact',
    );
    expect(plan.stderr).toContain(
      'error: ExportDestination/vip-newsletter: list 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a does not exist in Constant Contact (ListNotFound)',
    );
    expect(plan.stderr).toContain('hint: the list was deleted in Constant Contact');
    expect(plan.stderr).toContain('--no-refresh');

    const json = await w.exportctl(['plan', w.manifests, '--output', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      formatVersion: 1,
      refreshErrors: [
        {
          id: 'ExportDestination/vip-newsletter',
          reason: 'ListNotFound',
          code: 'list-not-found',
          dependents: [],
        },
      ],
      drift: [{ id: 'ExportDestination/vip-newsletter', reason: 'ListNotFound', code: 'list-not-found' }],
    });

    // The escape: no refresh, so nothing to fail on.
    const unchecked = await w.exportctl(['plan', w.manifests, '--no-refresh', '--detailed-exitcode']);
    expect(unchecked.code).toBe(2);

    const apply = await w.exportctl(['apply', w.manifests, '--auto-approve']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain('so nothing was applied');
    const status = await w.exportctl(['status']);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/ExportDestination\/vip-newsletter\s+Stalled\s+exportctl\s+ListNotFound/);
    // Nothing was applied: the segments change is still to do.
    const again = await w.exportctl(['plan', w.manifests, '--no-refresh']);
    expect(again.stdout).toContain('Plan: 0 to add, 1 to change, 0 to destroy.');
  });

  it('a revoked token: the connection is Stalled after a run, plan and apply fail naming it, not its destinations one by one', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    // A sandbox restarted without its state file knows none of the tokens the state holds.
    const port = w.sandbox.port;
    await w.sandbox.close();
    const fresh = await startSandbox({ port });
    try {
      const run = await w.exportctl(['run', 'vip-newsletter']);
      expect(run.code).toBe(1);
      const afterRun = JSON.parse((await w.exportctl(['status', '--output', 'json'])).stdout) as {
        resources: { kind: string; state: string; reason: string | null }[];
      };
      expect(afterRun.resources.find((item) => item.kind === 'Connection')).toMatchObject({
        state: 'Stalled',
        reason: 'CredentialsRejected',
      });

      const plan = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
      expect(plan.code).toBe(1);
      const errors = plan.stderr.split('\n').filter((line) => line.startsWith('error: '));
      expect(errors[0]).toMatch(
        /^error: Connection\/marketing-cc: .*invalid_grant.* \(CredentialsRejected\)$/,
      );
      expect(errors).toHaveLength(2);
      expect(plan.stderr).toContain(
        'not checked because of it: ExportDestination/vip-newsletter, ExportDestination/win-back',
      );
      expect(plan.stderr).toContain('hint: authorise exportctl again in Constant Contact');

      const apply = await w.exportctl(['apply', w.manifests, '--auto-approve']);
      expect(apply.code).toBe(1);
      const status = await w.exportctl(['status']);
      expect(status.code).toBe(1);
      expect(status.stdout).toMatch(/Connection\/marketing-cc\s+Stalled\s+exportctl\s+CredentialsRejected/);
      expect(status.stdout).toMatch(
        /ExportDestination\/vip-newsletter\s+Stalled\s+exportctl\s+CredentialsRejected: not checked: Connection\/marketing-cc/,
      );
      for (const secret of w.secrets())
        for (const output of [run, plan, apply, status])
          expect(output.stdout + output.stderr).not.toContain(secret);
    } finally {
      await fresh.close();
    }
  });
});

describe('role rules through the CLI', () => {
  it('needs an identity when an Access is in force', async () => {
    const w = await quickstartWorld({ actor: '' });
    const result = await w.exportctl(['apply', w.manifests, '--auto-approve']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('role checks need an identity');
  });

  it('a contributor may not create connections, sources, access or refresh', async () => {
    const w = await quickstartWorld({ actor: 'analyst@example.com' });
    const result = await w.exportctl(['plan', w.manifests]);
    expect(result.code).toBe(1);
    for (const id of [
      'Connection/marketing-cc',
      'ProfileSource/unified-profiles',
      'Access/default',
      'Refresh/default',
    ]) {
      expect(result.stderr).toContain(
        `${id}: analyst@example.com is a contributor: only administrators may create, change or delete`,
      );
    }
  });

  it('a contributor may change a destination on a shared connection, but not one on an administrators-only connection, nor delete', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    const contributor = { EXPORTCTL_ACTOR: 'analyst@example.com' };

    w.edit('destinations.yaml', (text) => text.replace('segments: [VIP, Newsletter]', 'segments: [VIP]'));
    const allowed = await w.exportctl(['apply', w.manifests, '--auto-approve'], contributor);
    expect(allowed.stdout).toContain('Apply complete! Resources: 0 added, 1 changed, 0 destroyed.');

    w.edit('connection.yaml', (text) =>
      text.replace('usableBy: administrators-and-contributors', 'usableBy: administrators'),
    );
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    w.edit('destinations.yaml', (text) => text.replace('segments: [VIP]', 'segments: [VIP, Newsletter]'));
    const refused = await w.exportctl(['apply', w.manifests, '--auto-approve'], contributor);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'analyst@example.com is a contributor, and connection marketing-cc is usable by administrators only',
    );

    const destroy = await w.exportctl(['destroy', w.manifests, '--auto-approve'], contributor);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toContain('analyst@example.com may not delete Connection/marketing-cc');
  });

  it('judges roles by the applied Access: a contributor cannot make themselves an administrator', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    w.edit('platform.yaml', (text) =>
      text.replace(
        'administrators: [ops@example.com]',
        'administrators: [ops@example.com, analyst@example.com]',
      ),
    );
    const result = await w.exportctl(['apply', w.manifests, '--auto-approve'], {
      EXPORTCTL_ACTOR: 'analyst@example.com',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Access/default: analyst@example.com is a contributor');
  });
});

describe('secrets', () => {
  it('a secret pasted where the variable NAME belongs is refused by plan and apply, never shown', async () => {
    // Issue #13 (6): the very value the variable holds, written as its name.
    const w = await quickstartWorld();
    w.edit('connection.yaml', (text) =>
      text.replace('clientSecret: { env: CC_CLIENT_SECRET }', 'clientSecret: { env: "sandbox-secret" }'),
    );
    for (const args of [
      ['plan', w.manifests],
      ['plan', w.manifests, '--output', 'json'],
      ['apply', w.manifests, '--auto-approve'],
      ['apply', w.manifests, '--auto-approve', '--output', 'json'],
    ]) {
      const result = await w.exportctl(args);
      expect(result.code).toBe(1);
      const output = result.stdout + result.stderr;
      expect(output).not.toContain('sandbox-secret');
      expect(output).toContain('takes the NAME of an environment variable');
    }
    const text = await w.exportctl(['plan', w.manifests]);
    expect(text.stdout + text.stderr).toMatch(/connection\.yaml:16:26: Connection\/marketing-cc: /);
  });

  it('an unset variable is named, at its reference (file:line:col)', async () => {
    const w = await quickstartWorld();
    const result = await w.exportctl(['plan', w.manifests], { CC_CLIENT_SECRET: '' });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(
      'connection.yaml:16:19: Connection/marketing-cc: Connection/marketing-cc auth.clientSecret: environment variable CC_CLIENT_SECRET is not set',
    );
  });

  it('never appear in plan or apply output, status, or the store (sqlite3 .dump and the raw files)', async () => {
    const w = await quickstartWorld();
    const outputs: string[] = [];
    for (const args of [
      ['plan', w.manifests],
      ['plan', w.manifests, '--output', 'json'],
      ['plan', w.manifests, '--output', 'markdown'],
      ['apply', w.manifests, '--auto-approve'],
      ['status', '--output', 'json'],
    ]) {
      const result = await w.exportctl(args);
      outputs.push(result.stdout, result.stderr);
    }
    // A changed secret value: the plan says so without showing either value.
    const changed = await w.exportctl(['plan', w.manifests], {
      CC_CLIENT_SECRET: 'a-brand-new-secret-value',
    });
    expect(changed.stdout).toContain('~ spec.auth.clientSecret: (sensitive value changed)');
    outputs.push(changed.stdout, changed.stderr);

    const secrets = [...w.secrets(), 'a-brand-new-secret-value'];
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const dump = execFileSync('sqlite3', [join(w.home, 'state.db'), '.dump'], { encoding: 'utf8' });
    const raw = readdirSync(w.home)
      .filter((file) => file.startsWith('state.db'))
      .map((file) => readFileSync(join(w.home, file)).toString('latin1'));
    for (const secret of secrets) {
      for (const text of [...outputs, dump, ...raw]) expect(text).not.toContain(secret);
    }
  });
});
