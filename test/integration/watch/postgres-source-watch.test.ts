import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SandboxHandle, startSandbox } from '../../../src/sandbox';
import { type ExportRunner, ManualWatchClock, WatchMetrics, WatchService } from '../../../src/watch';
import { repoRoot } from '../../support/exportctl-cli';
import { type PostgresServer, startPostgresServer } from '../../support/postgres-server';
import { quickstartCopy } from '../../support/quickstart-world';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

// Watch mode on the postgres example: a change in the database is noticed by the source's
// changeDetection query (the tables are never read by the watch), and its destinations run.
describe('watch mode with a postgres ProfileSource', () => {
  let server: PostgresServer;
  let sandbox: SandboxHandle;
  beforeAll(async () => {
    server = await startPostgresServer();
    sandbox = await startSandbox();
  }, 60_000);
  afterAll(async () => {
    await sandbox?.close();
    await server?.dispose();
  });

  it('runs the destinations of a source whose changeDetection value changed', async () => {
    const database = await server.createDatabase();
    const url = server.url({ database });
    execFileSync(process.execPath, [join(repoRoot, 'config-examples/postgres/load-profiles.mjs')], {
      env: { PATH: process.env.PATH, PROFILES_DATABASE_URL: url },
      stdio: 'pipe',
    });
    const manifests = quickstartCopy(sandbox);
    const example = readFileSync(join(repoRoot, 'config-examples/postgres/profiles.yaml'), 'utf8');
    writeFileSync(join(manifests, 'profiles.yaml'), example.replace('every: 1m', 'every: 1s'));
    const runs: string[] = [];
    const runner: ExportRunner = async ({ destination, trigger }) => {
      runs.push(`${destination}:${trigger}`);
      return { status: 'succeeded', imported: 0, removed: 0 };
    };
    const service = new WatchService({
      paths: [manifests],
      cwd: manifests,
      env: {
        CC_CLIENT_SECRET: 'sandbox-secret',
        CC_REFRESH_TOKEN: 'sandbox-refresh-token',
        PROFILES_DATABASE_URL: url,
      },
      store: await openTestState({ folder: tempFolder() }),
      actor: 'ops@example.com',
      prune: false,
      debounceMs: 150,
      driftIntervalMs: 0,
      dataStableMs: 200,
      maxConcurrentRuns: 2,
      lockTimeoutMs: 5_000,
      clock: new ManualWatchClock(Date.parse('2026-11-23T07:59:00Z')),
      logger: pino({ level: 'silent' }, new Writable({ write: (_chunk, _encoding, done) => done() })),
      metrics: new WatchMetrics(),
      runner,
    });
    try {
      await service.start();
      expect(service.isReady()).toBe(true);
      // Keep adding members until the watch (its baseline taken) notices: no fixed sleep.
      let added = 0;
      const both = () => runs.includes('vip-newsletter:refresh') && runs.includes('win-back:refresh');
      for (let attempt = 0; attempt < 60 && !both(); attempt++) {
        server.psql(`INSERT INTO segment_membership VALUES ('C${9000000 + ++added}', 'VIP')`, database);
        await new Promise((done) => setTimeout(done, 300));
      }
      expect(new Set(runs)).toEqual(new Set(['vip-newsletter:refresh', 'win-back:refresh']));
    } finally {
      await service.stop(1_000);
    }
  }, 60_000);
});
