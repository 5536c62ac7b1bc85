import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickstartWorld } from '../support/quickstart-world';

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
});
