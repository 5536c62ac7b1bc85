import { describe, expect, it } from 'vitest';
import { rejectedContactLine, rowIssueCsvHeader, rowIssueCsvLine, rowIssueLine } from '../../../src/engine';
import type { RowIssue } from '../../../src/profiles';

const issue: RowIssue = {
  severity: 'error',
  code: 'invalid-email',
  message:
    'profiles.csv:4: C004 has an email address that is not valid: "a, ""b"""; the profile is not exported',
  where: { file: '/data/profiles.csv', line: 4 },
  key: 'C004',
  field: 'EmailAddress',
};

describe('row-issue CSV lines', () => {
  it('writes RFC 4180 lines under the header, the columns the CSV file had', () => {
    const lines = [
      rowIssueLine(issue),
      rejectedContactLine(3, 'Row 12: invalid email address'),
      rowIssueLine({
        ...issue,
        severity: 'warning',
        code: 'name-truncated',
        message: 'cut',
        field: 'FirstName',
      }),
    ];
    expect(rowIssueCsvHeader + lines.map(rowIssueCsvLine).join('')).toBe(
      [
        'key,field,reason,where,severity,code',
        'C004,EmailAddress,"profiles.csv:4: C004 has an email address that is not valid: ""a, """"b""""""; the profile is not exported",profiles.csv:4,error,invalid-email',
        ',,Row 12: invalid email address,import batch 3,error,rejected-by-constant-contact',
        'C004,FirstName,cut,profiles.csv:4,warning,name-truncated',
        '',
      ].join('\n'),
    );
  });

  it('keeps an issue without key nor field as empty cells', () => {
    const { key: _key, field: _field, ...bare } = issue;
    expect(rowIssueLine(bare)).toMatchObject({ key: '', field: '', where: 'profiles.csv:4' });
  });
});
