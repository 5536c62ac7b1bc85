import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/exportctl-cli';
import { tempFolder } from '../support/temp-folder';

const script = join(repoRoot, 'scripts', 'generate-profiles.mjs');

/** Runs the script in a fresh folder; returns its result and the folder. */
function generate(args: readonly string[]) {
  const cwd = tempFolder();
  const result = spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { ...result, cwd };
}

describe('scripts/generate-profiles.mjs', () => {
  it.each([['--help'], ['-h']])('%s prints its usage and writes nothing', (flag) => {
    const result = generate([flag]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: node scripts\/generate-profiles\.mjs/m);
    expect(result.stdout).toContain('--count N');
    expect(readdirSync(result.cwd)).toEqual([]);
  });

  it.each([
    [['--cout', '10'], /unknown option '--cout'/],
    [['--count', 'ten'], /--count "ten" is not a whole number/],
    [['--count', '0'], /--count "0" is not a whole number of 1 or more/],
    [['--seed', '1.5'], /--seed "1.5" is not a whole number/],
    [['--count'], /--count needs a value/],
    [['extra'], /unexpected argument 'extra'/],
  ])('%j is refused, says why and what to do, and writes nothing', (args, why) => {
    const result = generate(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(why);
    expect(result.stderr).toContain('--help');
    expect(readdirSync(result.cwd)).toEqual([]);
  });

  it('writes the profiles it is asked for', () => {
    const result = generate(['--count', '3', '--out', 'data']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('wrote 3 profiles to data\n');
    expect(
      readFileSync(join(result.cwd, 'data', 'profiles.csv'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(4);
  });
});
