import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RowIssueCsv, rowIssueCsvPath } from '../../../src/engine';
import type { RowIssue } from '../../../src/profiles';
import { tempFolder } from '../../support/temp-folder';

const issue: RowIssue = {
  severity: 'error',
  code: 'invalid-email',
  message:
    'profiles.csv:4: C004 has an email address that is not valid: "a, ""b"""; the profile is not exported',
  where: { file: '/data/profiles.csv', line: 4 },
  key: 'C004',
  field: 'EmailAddress',
};

describe('RowIssueCsv', () => {
  it('writes RFC 4180 lines under one header, and appends when a resumed run adds more', () => {
    const path = join(tempFolder(), 'runs', 'vip', '7-row-errors.csv');
    const first = new RowIssueCsv(path);
    first.add(issue);
    first.addRejected(3, 'Row 12: invalid email address');
    first.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const resumed = new RowIssueCsv(path);
    resumed.add({
      ...issue,
      severity: 'warning',
      code: 'name-truncated',
      message: 'cut',
      field: 'FirstName',
    });
    resumed.close();
    expect(readFileSync(path, 'utf8')).toBe(
      [
        'key,field,reason,where,severity,code',
        'C004,EmailAddress,"profiles.csv:4: C004 has an email address that is not valid: ""a, """"b""""""; the profile is not exported",profiles.csv:4,error,invalid-email',
        ',,Row 12: invalid email address,import batch 3,error,rejected-by-constant-contact',
        'C004,FirstName,cut,profiles.csv:4,warning,name-truncated',
        '',
      ].join('\n'),
    );
  });

  it('creates no file when there is nothing to write', () => {
    const path = join(tempFolder(), 'none.csv');
    new RowIssueCsv(path).close();
    expect(existsSync(path)).toBe(false);
  });

  it('lives beside the state, or in the temp folder for an in-memory state', () => {
    expect(rowIssueCsvPath('/srv/exportctl/state.db', 'vip', 12)).toBe(
      '/srv/exportctl/runs/vip/12-row-errors.csv',
    );
    expect(rowIssueCsvPath(':memory:', 'vip', 12)).toMatch(/exportctl-runs\/runs\/vip\/12-row-errors\.csv$/);
  });
});
