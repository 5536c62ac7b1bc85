import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { quickstartWorld } from '../support/quickstart-world';
import { tempFolder } from '../support/temp-folder';

/** A copy of the world's manifests (and their data) in a fresh folder elsewhere. */
function copyOf(manifests: string): string {
  const copy = join(tempFolder(), 'qs-copy');
  cpSync(manifests, copy, { recursive: true });
  return copy;
}

describe('the same manifests in another folder or checkout', () => {
  it('plan the same: no path churn, and runs still read the files where the apply found them', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    for (const copy of [copyOf(w.manifests), copyOf(w.manifests)]) {
      const plan = await w.exportctl(['plan', copy, '--detailed-exitcode']);
      expect(plan.stderr).toBe('');
      expect(plan.stdout.trim()).toBe('No changes.');
      expect(plan.code).toBe(0);
    }
    // The state holds the paths as written, and the folder apart.
    const db = new Database(join(w.home, 'state.db'), { readonly: true });
    const row = db.prepare("SELECT spec FROM resources WHERE kind = 'ProfileSource'").get() as {
      spec: string;
    };
    db.close();
    expect(JSON.parse(row.spec)).toMatchObject({
      profiles: 'data/profiles.csv',
      segmentMembership: 'data/segment-membership.csv',
    });
    const run = await w.exportctl(['run', 'vip-newsletter']);
    expect(run.code, run.stderr).toBe(0);
  });

  it('a state written with absolute paths (before this change) plans no change from the same folder', async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    // What the previous version stored: absolute paths, no folder fact.
    const db = new Database(join(w.home, 'state.db'));
    const spec = JSON.parse(
      (db.prepare("SELECT spec FROM resources WHERE kind = 'ProfileSource'").get() as { spec: string }).spec,
    ) as Record<string, string>;
    const legacy = {
      ...spec,
      profiles: join(w.manifests, spec.profiles ?? ''),
      segmentMembership: join(w.manifests, spec.segmentMembership ?? ''),
    };
    db.prepare(
      "UPDATE resources SET spec = ?, remote_facts = NULL, remote_facts_read_at = NULL WHERE kind = 'ProfileSource'",
    ).run(JSON.stringify(legacy));
    db.close();
    const plan = await w.exportctl(['plan', w.manifests, '--detailed-exitcode']);
    expect(plan.stdout.trim()).toBe('No changes.');
    expect(plan.code).toBe(0);
    const run = await w.exportctl(['run', 'vip-newsletter']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(w.manifests, 'data', 'profiles.csv'), 'utf8').length).toBeGreaterThan(0);
  });
});
