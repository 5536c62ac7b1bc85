import { describe, expect, it } from 'vitest';
import { quickstartWorld } from '../support/quickstart-world';

const VIP_LIST = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';

/**
 * The quickstart applied against a sandbox that is then stopped: its loopback port is closed, so
 * every call is refused (ECONNREFUSED) and retried.
 */
async function stoppedSandboxWorld() {
  const w = await quickstartWorld();
  expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);
  const secrets = w.secrets();
  await w.sandbox.close();
  return { ...w, secrets };
}

/** `retrying METHOD PATH in N s (attempt K/M): ECONNREFUSED` lines of `stderr`. */
const retryLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => /^retrying (GET|POST) \/\S+ in [\d.]+ s \(attempt \d+\/\d+\): /.test(line));

describe('an endpoint where nothing listens', () => {
  it('plan says every retry on stderr, gives up within --request-timeout and exits 1 naming the connection', async () => {
    const w = await stoppedSandboxWorld();
    const started = performance.now();
    const plan = await w.exportctl(['plan', w.manifests, '--request-timeout', '3s']);
    const seconds = (performance.now() - started) / 1000;
    expect(plan.code).toBe(1);
    // 3 s of retrying, plus the start of a process on a busy machine; unbounded it takes over a minute.
    expect(seconds).toBeLessThan(15);
    const lines = retryLines(plan.stderr);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/^retrying GET \/v3\/contact_lists in [\d.]+ s \(attempt 2\/6\): ECONNREFUSED$/);
    // One call gave up, for the connection; its destinations were not asked for one by one.
    expect(plan.stderr).toMatch(
      /^error: Connection\/marketing-cc: GET \/v3\/contact_lists failed: ECONNREFUSED/m,
    );
    expect(plan.stderr).toContain('its request timeout of 3 s left no time to retry');
    expect(lines.every((line) => line.startsWith('retrying GET /v3/contact_lists in'))).toBe(true);
    for (const secret of w.secrets) expect(plan.stdout + plan.stderr).not.toContain(secret);
  });

  it('run says every retry of its worker on stderr and fails within --request-timeout', async () => {
    const w = await stoppedSandboxWorld();
    const started = performance.now();
    const run = await w.exportctl(['run', 'vip-newsletter', '--request-timeout', '3s']);
    const seconds = (performance.now() - started) / 1000;
    expect(run.code).toBe(1);
    expect(seconds).toBeLessThan(15);
    const lines = retryLines(run.stderr);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      new RegExp(`^retrying GET /v3/contact_lists/${VIP_LIST} in [\\d.]+ s \\(attempt 2/6\\): ECONNREFUSED$`),
    );
    for (const secret of w.secrets) expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('refuses a --request-timeout that is not a duration, naming the flag', async () => {
    const w = await stoppedSandboxWorld();
    const plan = await w.exportctl(['plan', w.manifests, '--request-timeout', 'soon']);
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain('--request-timeout "soon" is not a duration');
    expect(plan.stderr).toContain('hint: write it like 30s');
  });
});
