// A separate process that uses the built state store (dist/), for tests of what must hold across
// processes: locks, token durability, the refresh lock. Run by state-child.ts; one JSON request in
// argv[2], one JSON event per stdout line.
const { openExportctlState: openStateStore } = require('../../dist/src/wiring/index.js');

const request = JSON.parse(process.argv[2]);
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const stdinClosed = new Promise((resolve) => {
  process.stdin.on('data', () => {});
  process.stdin.on('end', resolve);
  process.stdin.on('close', resolve);
});

/**
 * Opens (creates and migrates) each of `urls` in turn, the k-th at `startAt + k * slotMs` (epoch
 * ms), so that several children open the same fresh files at the same moment. A failure is
 * recorded and the next file tried: the test wants every failure, not the first.
 */
async function openFresh() {
  const failures = [];
  for (const [k, url] of request.urls.entries()) {
    const at = request.startAt + k * request.slotMs;
    // A busy wait, not a timer: timers fire up to a few ms late, and the race is that narrow.
    while (Date.now() < at) {}
    try {
      await (await openStateStore(url, { actor: 'child' })).close();
    } catch (error) {
      failures.push({ url, code: error.code ?? null, message: error.message });
    }
  }
  emit({ event: 'opened', failures });
}

async function main() {
  if (request.op === 'open-fresh') return openFresh();
  const store = await openStateStore(request.url, { actor: request.identity ?? 'child' });
  try {
    switch (request.op) {
      case 'hold': {
        const handle = await store.locks.acquire(
          request.lock,
          { identity: request.identity, command: request.command },
          { timeoutMs: request.timeoutMs ?? 0 },
        );
        emit({ event: 'acquired', pid: process.pid, at: Date.now(), tookOver: handle.tookOver ?? null });
        await (request.holdMs === undefined ? stdinClosed : sleep(request.holdMs));
        emit({ event: 'releasing', at: Date.now() });
        await handle.release();
        break;
      }
      case 'hold-and-exit': {
        // Exits without releasing: the store's exit hook must release the lock.
        await store.locks.acquire(request.lock, { identity: request.identity, command: request.command });
        emit({ event: 'acquired', pid: process.pid });
        process.exit(0);
        break;
      }
      case 'locked-increment': {
        // What apply does, in miniature: read the state, think, write it, under the control-plane
        // lock. Interleaved holders would lose increments.
        for (let i = 0; i < request.times; i++) {
          await store.locks.withLock(
            'control-plane',
            { identity: request.identity ?? 'child', command: 'apply' },
            { timeoutMs: 20_000 },
            async () => {
              const current = await store.resources.get('Access', 'counter');
              const count = Number(current?.spec.count ?? 0);
              await sleep(request.holdMs);
              await store.resources.put({
                kind: 'Access',
                name: 'counter',
                owner: 'exportctl',
                spec: { count: count + 1 },
              });
            },
          );
        }
        emit({ event: 'incremented' });
        break;
      }
      case 'save-tokens':
        await store.tokens.forConnection(request.connection).save(request.tokens);
        emit({ event: 'saved' });
        break;
      case 'load-tokens':
        emit({
          event: 'loaded',
          tokens: (await store.tokens.forConnection(request.connection).load()) ?? null,
        });
        break;
      case 'refresh-increment': {
        // A read-modify-write under the refresh lock: lost updates would show as a smaller count.
        const tokens = store.tokens.forConnection(request.connection);
        for (let i = 0; i < request.times; i++) {
          await tokens.withRefreshLock(async () => {
            const current = await tokens.load();
            const count = Number((current?.refreshToken ?? 'rt-0').slice(3));
            await sleep(request.holdMs);
            await tokens.save({
              refreshToken: `rt-${count + 1}`,
              bootstrapFingerprint: 'fp',
              updatedAt: Date.now(),
            });
          });
        }
        emit({ event: 'refreshed' });
        break;
      }
      case 'refresh-killed-after-answer': {
        // A real refresh against request.tokenUrl, and a SIGKILL at the first thing the client does
        // once the token endpoint has answered: any event, any log line but the first (the one that
        // announces the refresh, before the request is sent). Whatever the state holds then is what
        // a `kill -9` in that window leaves.
        const {
          ConstantContactClient,
          RateLimiterRegistry,
        } = require('../../dist/src/constant-contact/index.js');
        let announced = false;
        const die = () => process.kill(process.pid, 'SIGKILL');
        const log = () => {
          if (announced) die();
          announced = true;
        };
        const client = new ConstantContactClient({
          connectionName: request.connection,
          credentials: {
            clientId: 'client-id',
            clientSecret: 'client-secret',
            bootstrapRefreshToken: request.bootstrapRefreshToken,
          },
          tokenStore: store.tokens.forConnection(request.connection),
          endpoints: { api: request.apiUrl, token: request.tokenUrl },
          rateLimiters: new RateLimiterRegistry(),
          onRequest: die,
          logger: { debug: log, info: log, warn: log, error: log },
        });
        await client.verifyCredentials();
        emit({ event: 'survived' });
        break;
      }
      default:
        throw new Error(`unknown op ${request.op}`);
    }
  } finally {
    await store.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    emit({ event: 'error', code: error.code ?? null, message: error.message });
    process.exit(2);
  },
);
