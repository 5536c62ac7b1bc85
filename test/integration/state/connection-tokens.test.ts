import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { refreshTokenFingerprint } from '../../../src/constant-contact';
import type { StoredTokens } from '../../../src/constant-contact/token-store';
import { describeStateStoreContract } from '../../support/state-backends';
import { startStateChild } from '../../support/state-child';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

const tokens: StoredTokens = {
  refreshToken: 'rt-rotated-1',
  accessToken: 'at-1',
  accessTokenExpiresAt: 1_800_000_000_000,
  bootstrapFingerprint: 'hmac-sha256:abc',
  updatedAt: 1_700_000_000_000,
};

describeStateStoreContract('OAuth tokens (TokenStore)', (backend) => {
  it('saves and loads per connection; optional fields stay absent', async () => {
    const store = await backend.open();
    const cc = store.tokens.forConnection('marketing-cc');
    expect(await cc.load()).toBeUndefined();
    await cc.save(tokens);
    expect(await cc.load()).toEqual(tokens);
    const other = store.tokens.forConnection('sales-cc');
    await other.save({ refreshToken: 'rt-x', bootstrapFingerprint: 'fp', updatedAt: 5 });
    expect(await other.load()).toStrictEqual({
      refreshToken: 'rt-x',
      bootstrapFingerprint: 'fp',
      updatedAt: 5,
    });
    expect(await store.tokens.delete('sales-cc')).toBe(true);
    expect(await store.tokens.delete('sales-cc')).toBe(false);
    expect(await other.load()).toBeUndefined();
    expect(await cc.load()).toEqual(tokens);
  });

  it('serialises refreshes of one connection in this process, not of different ones', async () => {
    const store = await backend.open();
    const cc = store.tokens.forConnection('cc');
    const log: string[] = [];
    const refresh = (label: string) => async () => {
      log.push(`${label} start`);
      await new Promise((resolve) => setTimeout(resolve, 30));
      log.push(`${label} end`);
      return label;
    };
    const results = await Promise.all([
      cc.withRefreshLock(refresh('one')),
      store.tokens.forConnection('cc').withRefreshLock(refresh('two')),
    ]);
    expect(results).toEqual(['one', 'two']);
    expect(log).toEqual(['one start', 'one end', 'two start', 'two end']);

    log.length = 0;
    await Promise.all([
      cc.withRefreshLock(refresh('cc')),
      store.tokens.forConnection('other').withRefreshLock(refresh('other')),
    ]);
    expect(log.slice(0, 2)).toEqual(['cc start', 'other start']);
  });

  it('releases the refresh lock when the refresh fails', async () => {
    const store = await backend.open();
    const cc = store.tokens.forConnection('cc');
    await expect(cc.withRefreshLock(async () => Promise.reject(new Error('401')))).rejects.toThrow('401');
    expect(await store.locks.holder('token:cc')).toBeUndefined();
    expect(await cc.withRefreshLock(async () => 'again')).toBe('again');
  });

  it('is durable across processes: saved in one, loaded in another', async () => {
    const folder = tempFolder();
    const url = backend.url(folder);
    const env = { EXPORTCTL_SECRET_KEY: randomBytes(32).toString('base64') };
    const saver = startStateChild({ op: 'save-tokens', url, connection: 'marketing-cc', tokens }, { env });
    expect((await saver.exited).code).toBe(0);
    const loader = startStateChild({ op: 'load-tokens', url, connection: 'marketing-cc' }, { env });
    expect((await loader.next('loaded')).tokens).toEqual(tokens);
    const store = await backend.open({ folder, env });
    expect(await store.tokens.forConnection('marketing-cc').load()).toEqual(tokens);
  });

  it('a process killed right after the token endpoint answered has already stored the rotated refresh token', async () => {
    // Issue #13 (7): refresh tokens are single use, so once the endpoint has answered only the new
    // one works. The child kills itself (SIGKILL) at the first event or log line after the answer.
    const used: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        used.push(new URLSearchParams(body).get('refresh_token') ?? '');
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({ access_token: 'at-new', refresh_token: 'rt-rotated-by-cc', expires_in: 86_400 }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const folder = tempFolder();
      const url = backend.url(folder);
      const env = { EXPORTCTL_SECRET_KEY: randomBytes(32).toString('base64') };
      const child = startStateChild(
        {
          op: 'refresh-killed-after-answer',
          url,
          connection: 'marketing-cc',
          bootstrapRefreshToken: 'rt-bootstrap',
          apiUrl: `http://127.0.0.1:${port}/v3`,
          tokenUrl: `http://127.0.0.1:${port}/oauth2/default/v1/token`,
        },
        { env },
      );
      const exit = await child.exited;
      expect([exit.signal, exit.events]).toEqual(['SIGKILL', []]);
      expect(used).toEqual(['rt-bootstrap']);
      const store = await backend.open({ folder, env });
      expect(await store.tokens.forConnection('marketing-cc').load()).toMatchObject({
        refreshToken: 'rt-rotated-by-cc',
        bootstrapFingerprint: refreshTokenFingerprint('rt-bootstrap'),
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('excludes refreshes across processes: no update is lost', async () => {
    const folder = tempFolder();
    const url = backend.url(folder);
    // No EXPORTCTL_SECRET_KEY: both children race to create the key file and migrate a new state.
    const request = { op: 'refresh-increment', url, connection: 'cc', times: 3, holdMs: 40 };
    const env = backend.childEnv(folder);
    const children = [startStateChild(request, { env }), startStateChild(request, { env })];
    const exits = await Promise.all(children.map((child) => child.exited));
    expect(exits.map((exit) => [exit.code, exit.events.at(-1)?.event])).toEqual([
      [0, 'refreshed'],
      [0, 'refreshed'],
    ]);
    const store = await backend.open({ folder });
    expect((await store.tokens.forConnection('cc').load())?.refreshToken).toBe('rt-6');
  });
});

describe('OAuth tokens in SQLite', () => {
  it('encrypts tokens bound to their connection', async () => {
    const store = await openTestState();
    await store.tokens.forConnection('a').save(tokens);
    await store.tokens.forConnection('b').save({ ...tokens, refreshToken: 'rt-b' });
    store.sqlite.exec(`UPDATE oauth_tokens SET ciphertext = (SELECT ciphertext FROM oauth_tokens WHERE connection = 'b')
                       WHERE connection = 'a'`);
    await expect(store.tokens.forConnection('a').load()).rejects.toMatchObject({
      code: 'secret-undecryptable',
    });
  });

  it('writes within the call of save, before its promise is awaited (what the client relies on)', async () => {
    const folder = tempFolder();
    const store = await openTestState({ folder });
    const pending = store.tokens.forConnection('marketing-cc').save(tokens);
    // Read through another connection before awaiting: the row is committed already.
    const other = new Database(join(folder, 'state.db'), { readonly: true });
    const row = other.prepare('SELECT COUNT(*) AS rows FROM oauth_tokens').get() as { rows: number };
    other.close();
    await pending;
    expect(row.rows).toBe(1);
  });
});
