import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqliteStateStore } from '../../../src/state';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

const secretValue = (label: string) => `${label}-${randomBytes(18).toString('base64url')}`;

/** Every way a leaked value could be spelled in the bytes: as is, base64, base64url, hex, sha256. */
function spellings(value: string | Buffer): string[] {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  return [
    ...(Buffer.isBuffer(value) ? [] : [value]),
    bytes.toString('base64'),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    createHash('sha256').update(bytes).digest('hex'),
  ];
}

/** Every row of every table, BLOBs as hex, as better-sqlite3 reads them. */
function dumpRows(store: SqliteStateStore): string {
  const tables = store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
    name: string;
  }[];
  return tables
    .map(({ name }) => {
      const rows = store.sqlite.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[];
      return `${name}\n${rows
        .map((row) =>
          JSON.stringify(row, (_key, value: unknown) =>
            value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value,
          ),
        )
        .join('\n')}`;
    })
    .join('\n');
}

describe('secrets at rest', () => {
  it('never appear in the database file, its WAL, or a full dump', async () => {
    const folder = tempFolder();
    const path = join(folder, 'state.db');
    const store = await openTestState({ folder });
    const values = {
      clientId: secretValue('client-id'),
      clientSecret: secretValue('client-secret'),
      bootstrap: secretValue('bootstrap-rt'),
      replacedSecret: secretValue('replaced-secret'),
      rotated: secretValue('rotated-rt'),
      accessToken: secretValue('access-token'),
    };
    await store.resources.put({
      kind: 'Connection',
      name: 'marketing-cc',
      owner: 'exportctl',
      spec: { auth: { clientId: { env: 'CC_CLIENT_ID' }, clientSecret: { env: 'CC_CLIENT_SECRET' } } },
    });
    await store.secrets.put('marketing-cc', 'clientId', values.clientId);
    await store.secrets.put('marketing-cc', 'clientSecret', values.replacedSecret);
    await store.secrets.put('marketing-cc', 'clientSecret', values.clientSecret);
    await store.secrets.put('marketing-cc', 'refreshToken', values.bootstrap);
    await store.tokens.forConnection('marketing-cc').save({
      refreshToken: values.rotated,
      accessToken: values.accessToken,
      accessTokenExpiresAt: Date.now() + 3_600_000,
      bootstrapFingerprint: await store.secrets.fingerprint(values.bootstrap),
      updatedAt: Date.now(),
    });
    // The values are really there, through the API.
    expect(await store.secrets.get('marketing-cc', 'clientSecret')).toBe(values.clientSecret);
    expect((await store.tokens.forConnection('marketing-cc').load())?.accessToken).toBe(values.accessToken);

    const key = Buffer.from(readFileSync(join(folder, 'secret.key'), 'utf8').trim(), 'base64');
    const needles = [...Object.values(values).flatMap((value) => spellings(value)), ...spellings(key)];
    const scan = (label: string, haystack: Buffer | string) => {
      const text = Buffer.isBuffer(haystack) ? haystack.toString('latin1') : haystack;
      expect(text.length, `${label} is empty`).toBeGreaterThan(0);
      for (const needle of needles) expect(text.includes(needle), `${label} contains ${needle}`).toBe(false);
    };

    // While open, the newest pages live in the WAL.
    expect(existsSync(`${path}-wal`)).toBe(true);
    scan('state.db-wal', readFileSync(`${path}-wal`));
    scan('state.db (open)', readFileSync(path));
    scan('the rows', dumpRows(store));
    expect(dumpRows(store)).toContain('CC_CLIENT_SECRET');
    await store.close();
    scan('state.db (closed)', readFileSync(path));
    if (existsSync(`${path}-wal`)) scan('state.db-wal (closed)', readFileSync(`${path}-wal`));

    // What an operator sees with the sqlite3 shell (the suite needs it: see README, Development).
    const dump = execFileSync('sqlite3', [path, '.dump'], { encoding: 'utf8' });
    // The table is quoted once a migration has rebuilt it (ALTER TABLE … RENAME).
    expect(dump).toMatch(/CREATE TABLE (IF NOT EXISTS )?"?connection_secrets"? \(/);
    expect(dump).toMatch(/INSERT INTO "?connection_secrets"? VALUES/);
    scan('sqlite3 .dump', dump);
  });
});
