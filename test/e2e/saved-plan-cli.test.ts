import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickstartWorld } from '../support/quickstart-world';
import { tempFolder } from '../support/temp-folder';

const fewerSegments = (text: string) => text.replace('segments: [VIP, Newsletter]', 'segments: [VIP]');

describe('saved plans: plan -out FILE, then apply FILE', () => {
  it('applies exactly the saved plan without asking; plan then says No changes.', async () => {
    const w = await quickstartWorld();
    const planFile = join(w.home, 'plan.json');
    const plan = await w.exportctl(['plan', w.manifests, '-out', planFile, '--detailed-exitcode']);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('Plan: 6 to add, 0 to change, 0 to destroy.');
    expect(plan.stdout).toContain(`Saved the plan to ${planFile}`);
    expect(statSync(planFile).mode & 0o777).toBe(0o600);

    const apply = await w.exportctl(['apply', planFile]);
    expect(apply.stderr).toBe('');
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('Plan: 6 to add, 0 to change, 0 to destroy.');
    expect(apply.stdout).toContain('Apply complete! Resources: 6 added, 0 changed, 0 destroyed.');

    const again = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(again.stdout.trim()).toBe('No changes.');
    expect(again.code).toBe(0);
  });

  it('--out is the same flag; a saved plan applies once: the second time it is stale', async () => {
    const w = await quickstartWorld();
    const planFile = join(w.home, 'first.json');
    expect((await w.exportctl(['plan', w.manifests, '--out', planFile])).code).toBe(0);
    expect((await w.exportctl(['apply', planFile])).code).toBe(0);
    const twice = await w.exportctl(['apply', planFile]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(
      /the plan .*first\.json was made at serial 0 of the state; it is now at serial \d+/,
    );
  });

  it('refuses a plan made before another apply changed the state, and changes nothing', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    w.edit('destinations.yaml', fewerSegments);
    const planFile = join(w.home, 'reviewed.json');
    const plan = await w.exportctl(['plan', w.manifests, '-out', planFile]);
    expect(plan.stdout).toContain('~ spec.segments: ["VIP","Newsletter"] -> ["VIP"]');

    // Another change is applied in the meantime (another pull request, or someone at a terminal).
    w.edit('destinations.yaml', (text) =>
      text
        .replace('segments: [VIP]', 'segments: [VIP, Newsletter]')
        .replace('maxRemovalPercent: 20', 'maxRemovalPercent: 30'),
    );
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);

    const stale = await w.exportctl(['apply', planFile]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /error: the plan .*reviewed\.json was made at serial \d+ of the state; it is now at serial \d+: the state changed since the plan was made/,
    );
    expect(stale.stderr).toContain('hint: plan again');
    expect(stale.stdout).not.toContain('Apply complete');
    // Nothing of the stale plan was applied: the segments change is still to do.
    w.edit('destinations.yaml', fewerSegments);
    const after = await w.exportctl(['plan', w.manifests]);
    expect(after.stdout).toContain('~ spec.segments: ["VIP","Newsletter"] -> ["VIP"]');
    expect(after.stdout).toContain('Plan: 0 to add, 1 to change, 0 to destroy.');
  });

  it('holds no secret value, and is refused when a secret changed since the plan (by hash)', async () => {
    const w = await quickstartWorld();
    const first = join(w.home, 'create.json');
    expect((await w.exportctl(['plan', w.manifests, '-out', first])).code).toBe(0);
    const applied = await w.exportctl(['apply', first]);
    expect(applied.code).toBe(0);
    // After the apply the refresh token has rotated: a plan of a change holds none of those either.
    w.edit('destinations.yaml', fewerSegments);
    const second = join(w.home, 'change.json');
    const plan = await w.exportctl(['plan', w.manifests, '-out', second, '--output', 'json']);
    expect(plan.code).toBe(0);

    const files = [readFileSync(first, 'utf8'), readFileSync(second, 'utf8')];
    const secrets = w.secrets();
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) {
      for (const text of [...files, applied.stdout, applied.stderr, plan.stdout, plan.stderr])
        expect(text).not.toContain(secret);
    }

    const changed = await w.exportctl(['apply', second], { CC_CLIENT_SECRET: 'another-secret-value' });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain(
      'Connection/marketing-cc spec.auth.clientSecret resolves to another value than when the plan was made',
    );
    expect(changed.stderr + changed.stdout).not.toContain('another-secret-value');
    expect(changed.stderr + changed.stdout).not.toContain('sandbox-secret');
  });

  it('applies the specs it saved even when the manifests changed on disk since, and says so', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    w.edit('destinations.yaml', fewerSegments);
    const planFile = join(w.home, 'plan.json');
    expect((await w.exportctl(['plan', w.manifests, '-out', planFile])).code).toBe(0);
    w.edit('destinations.yaml', (text) => text.replace('segments: [VIP]', 'segments: [Newsletter]'));

    const apply = await w.exportctl(['apply', planFile]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain(
      'note: the manifests changed on disk since this plan was made; applying the plan as it was saved',
    );
    expect(apply.stdout).toContain('Apply complete! Resources: 0 added, 1 changed, 0 destroyed.');
    const plan = await w.exportctl(['plan', w.manifests]);
    expect(plan.stdout).toContain('~ spec.segments: ["VIP"] -> ["Newsletter"]');
  });

  it('apply FILE takes no PATH and no --prune (the plan holds them), and refuses a plan of another state', async () => {
    const w = await quickstartWorld();
    const planFile = join(w.home, 'plan.json');
    expect((await w.exportctl(['plan', w.manifests, '--prune', '-out', planFile])).code).toBe(0);

    const withPath = await w.exportctl(['apply', planFile, w.manifests]);
    expect(withPath.code).toBe(1);
    expect(withPath.stderr).toContain('apply of a saved plan takes no PATH');
    const withPrune = await w.exportctl(['apply', planFile, '--prune']);
    expect(withPrune.code).toBe(1);
    expect(withPrune.stderr).toContain('apply of a saved plan takes no --prune');
    const destroy = await w.exportctl(['destroy', planFile, '--auto-approve']);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toContain('destroy takes manifests, not a saved plan');

    const otherState = `sqlite:${join(tempFolder(), 'state.db')}`;
    const elsewhere = await w.exportctl(['apply', planFile], { EXPORTCTL_STATE: otherState });
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('was made against another state');
    expect((await w.exportctl(['status'])).stdout).toContain('Nothing is applied');
  });

  it('checks roles at apply time as a normal apply does: a contributor cannot apply an administrator’s plan', async () => {
    const w = await quickstartWorld();
    const planFile = join(w.home, 'plan.json');
    expect((await w.exportctl(['plan', w.manifests, '-out', planFile])).code).toBe(0);
    const refused = await w.exportctl(['apply', planFile], { EXPORTCTL_ACTOR: 'analyst@example.com' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'analyst@example.com is a contributor: only administrators may create, change or delete a Connection',
    );
    expect((await w.exportctl(['status'])).stdout).toContain('Nothing is applied');
  });

  it('writes no plan file when the plan has errors', async () => {
    const w = await quickstartWorld({ actor: 'analyst@example.com' });
    const planFile = join(w.home, 'plan.json');
    const plan = await w.exportctl(['plan', w.manifests, '-out', planFile]);
    expect(plan.code).toBe(1);
    expect(existsSync(planFile)).toBe(false);
  });
});
