import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exportctl-cli';
import { quickstartWorld } from '../support/quickstart-world';

const golden = join(repoRoot, 'test', 'fixtures', 'plans', 'quickstart-data-plan', 'data-plans.md');

describe('exportctl plan --with-data-plan', () => {
  it('adds each affected destination’s data plan to the pull-request comment, and records nothing', async () => {
    const w = await quickstartWorld();
    const planned = await w.exportctl(['plan', w.manifests, '--output', 'markdown', '--with-data-plan']);
    expect(planned.code, planned.stderr).toBe(0);
    const data = planned.stdout.slice(planned.stdout.indexOf('**Data plans**'));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, data);
    expect(data).toBe(readFileSync(golden, 'utf8'));
    // Only a plan: no run in the history, nothing applied, nothing sent.
    expect((await w.exportctl(['runs'])).stdout).toBe('No runs yet.\n');
    expect(
      w.sandbox.requests().filter((request) => request.method !== 'GET' && request.route !== 'token'),
    ).toEqual([]);

    // After apply and a run, a change of segments plans only the difference, for that destination.
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
    expect((await w.exportctl(['run', '--all'])).code).toBe(0);
    w.edit('destinations.yaml', (text) =>
      text.replace('segments: [VIP, Newsletter]', 'segments: [VIP, Newsletter, LapsedCustomers]'),
    );
    const text = await w.exportctl(['plan', w.manifests, '--with-data-plan']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /Data plan for vip-newsletter \(list [0-9a-f-]{36}\): nothing is sent\n {2}\+ \d+ to add\n {2}~ \d+ to update\n {2}= \d+ unchanged\n/,
    );
    expect(text.stdout).not.toMatch(/Data plan for win-back/);
    const json = JSON.parse(
      (await w.exportctl(['plan', w.manifests, '--with-data-plan', '--output', 'json'])).stdout,
    ) as {
      dataPlans: { destination: string; plan: { unchanged: number; updates: number; adds: number } }[];
    };
    expect(json.dataPlans.map((item) => item.destination)).toEqual(['vip-newsletter']);
    // Every contact of the last run is unchanged or updated (a duplicate email may change winner).
    const plan = json.dataPlans[0]?.plan;
    expect((plan?.unchanged ?? 0) + (plan?.updates ?? 0)).toBe(464);
    expect(plan?.adds).toBeGreaterThan(0);
    expect((await w.exportctl(['runs', '--output', 'json'])).stdout).not.toMatch(/"dryRun": true/);
  }, 60_000);
});
