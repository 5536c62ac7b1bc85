import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceGitCommit } from '../../../src/engine';
import { tempFolder } from '../../support/temp-folder';

describe('sourceGitCommit', () => {
  it('asks git for the commit of the source folder, passing it none of the secrets in the environment', async () => {
    const bin = tempFolder();
    const seen = join(bin, 'env.txt');
    // A stand-in git that records its environment and answers with a commit.
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh\nenv > '${seen}'\necho 0123456789abcdef0123456789abcdef01234567\n`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const commit = await sourceGitCommit(
      { type: 'csv', profiles: '/data/profiles.csv', segmentMembership: '/data/m.csv', key: 'Id' } as never,
      {
        PATH: `${bin}:/usr/bin:/bin`,
        HOME: bin,
        GIT_DIR: '/repo/.git',
        EXPORTCTL_SECRET_KEY: 'state-key-value',
        CC_CLIENT_SECRET: 'client-secret-value',
      },
    );
    expect(commit).toBe('0123456789abcdef0123456789abcdef01234567');
    const environment = readFileSync(seen, 'utf8');
    expect(environment).toContain('GIT_DIR=/repo/.git');
    expect(environment).not.toContain('state-key-value');
    expect(environment).not.toContain('client-secret-value');
  });
});
