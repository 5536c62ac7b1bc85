import { describe, expect, it } from 'vitest';
import { quickstartWorld } from '../support/quickstart-world';

describe('a rotation whose answer never arrived, and the way back (README "Rotated refresh tokens")', () => {
  it('the stored token is dead; a new refresh token in the bootstrap reference replaces it on apply', {
    timeout: 60_000,
  }, async () => {
    const w = await quickstartWorld();
    expect((await w.exportctl(['apply', w.manifests, '--auto-approve'])).code).toBe(0);

    // Constant Contact rotates the chain, but the answer never reaches exportctl: here the test
    // itself spends the refresh token exportctl stored. Its answer stands for a new authorisation.
    const [stored] = w.secrets().filter((secret) => secret.startsWith('sandbox-rt-'));
    if (stored === undefined) throw new Error('the sandbox holds no rotated refresh token');
    const refresh = () =>
      fetch(w.sandbox.tokenUrl, {
        method: 'POST',
        headers: {
          Authorization: `Basic ${Buffer.from('sandbox-client:sandbox-secret').toString('base64')}`,
          'Content-Type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored }).toString(),
      });
    let answer = await refresh();
    // The token endpoint takes one request a second per client, and apply has just made one.
    for (let attempt = 0; answer.status === 429 && attempt < 5; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      answer = await refresh();
    }
    expect(answer.status).toBe(200);
    const reauthorized = ((await answer.json()) as { refresh_token: string }).refresh_token;
    // Access tokens still work for a while; once they are gone exportctl must refresh, and cannot.
    w.sandbox.revokeAccessTokens();
    const stalled = await w.exportctl(['plan', w.manifests]);
    expect(stalled.stdout).toContain('Stalled (CredentialsRejected)');
    expect(stalled.stdout).toContain('invalid_grant');

    // The way back: the new refresh token where spec.auth.refreshToken points, then apply.
    const env = { CC_REFRESH_TOKEN: reauthorized };
    const apply = await w.exportctl(['apply', w.manifests, '--auto-approve'], env);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain('~ spec.auth.refreshToken: (sensitive value changed)');
    w.sandbox.revokeAccessTokens();
    const after = await w.exportctl(['plan', w.manifests, '--detailed-exitcode'], env);
    expect(after.stdout.trim()).toBe('No changes.');
    expect(after.code).toBe(0);
    for (const result of [stalled, apply, after]) {
      expect(result.stdout + result.stderr).not.toContain(reauthorized);
    }
  });
});
