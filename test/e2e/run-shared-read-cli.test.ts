import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../src/sandbox';
import { everyoneEnv } from '../support/everyone-world';
import { repoRoot, runExportctl } from '../support/exportctl-cli';
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

/** Each source file the csv parser opened during `run`, with how many times. */
function parses(log: string): Record<string, number> {
  const counts: Record<string, number> = {};
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    const file = line.split('/').at(-1) ?? '';
    counts[file] = (counts[file] ?? 0) + 1;
  }
  return counts;
}

describe('exportctl run --all on one source (the built CLI, its worker, the sandbox)', () => {
  it('parses the segment membership once for both quickstart destinations, the profiles once per mapping', async () => {
    const folder = quickstartCopy(sandbox);
    const log = join(tempFolder(), 'csv-parses.log');
    const cli: typeof runExportctl = (args) =>
      runExportctl(args, {
        cwd: folder,
        env: {
          ...everyoneEnv,
          CSV_PARSES_LOG: log,
          NODE_OPTIONS: `--require ${join(repoRoot, 'test', 'support', 'count-csv-parses.cjs')}`,
        },
        timeoutMs: 60_000,
      });
    const applied = await cli(['apply', '--auto-approve', '.']);
    expect(applied.code, applied.stderr).toBe(0);
    const before = parses(log);

    const result = await cli(['run', '--all', '--output', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const runs = (JSON.parse(result.stdout) as { runs: { destination: string; status: string }[] }).runs;
    expect(runs.map((run) => [run.destination, run.status]).sort()).toEqual([
      ['vip-newsletter', 'succeeded'],
      ['win-back', 'succeeded'],
    ]);
    const during = parses(log);
    const read = (file: string) => (during[file] ?? 0) - (before[file] ?? 0);
    // vip-newsletter maps first and last name, win-back the first name only: other fields, so each
    // reads the profiles its own way; the membership is read once for both.
    expect(read('segment-membership.csv')).toBe(1);
    expect(read('profiles.csv')).toBe(2);
  });
});
