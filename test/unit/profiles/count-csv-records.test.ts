import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countCsvRecords, SourceError } from '../../../src/profiles';
import { repoRoot } from '../../support/exportctl-cli';
import { profileFixture } from '../../support/profile-fixtures';

describe('countCsvRecords', () => {
  it('counts records after the header, not lines (quoted line breaks are inside records)', async () => {
    expect(await countCsvRecords(join(profileFixture('csv-quoted'), 'profiles.csv'))).toBe(6);
    expect(
      await countCsvRecords(join(repoRoot, 'config-examples', 'quickstart', 'data', 'profiles.csv')),
    ).toBe(1000);
  });

  it('counts an empty file as no records, and rejects a missing one', async () => {
    expect(await countCsvRecords(join(profileFixture('csv-empty'), 'profiles.csv'))).toBe(0);
    await expect(countCsvRecords('/nonexistent.csv')).rejects.toBeInstanceOf(SourceError);
  });
});
