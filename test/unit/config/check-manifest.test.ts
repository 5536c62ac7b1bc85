import { describe, expect, it } from 'vitest';
import { checkManifest, checkManifestSchema } from '../../../src/config';

/** Manifests as a program builds them: plain objects, no YAML, no file. */
const connection = (spec: Record<string, unknown> = {}) => ({
  apiVersion: 'exportctl/v1',
  kind: 'Connection',
  metadata: { name: 'cc' },
  spec: {
    type: 'constant-contact',
    dataPrivacyConsent: true,
    exportUser: 'ops@example.com',
    auth: { clientId: 'client', clientSecret: { env: 'CC_SECRET' }, refreshToken: { env: 'CC_REFRESH' } },
    ...spec,
  },
});

const destination = (spec: Record<string, unknown> = {}) => ({
  apiVersion: 'exportctl/v1',
  kind: 'ExportDestination',
  metadata: { name: 'vip' },
  spec: {
    connection: 'nowhere',
    source: 'nothing',
    listId: '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
    dataMatching: { email: 'EmailAddress' },
    segments: ['VIP'],
    ...spec,
  },
});

const codes = (problems: readonly { code: string; path?: string }[]) =>
  problems.map((problem) => `${problem.code} ${problem.path ?? ''}`);

describe('checkManifest (one manifest built in code, no YAML)', () => {
  it('fills the defaults into a copy and leaves the input alone', () => {
    const input = connection();
    const checked = checkManifest(input);
    expect(checked.problems).toEqual([]);
    expect(checked.kind).toBe('Connection');
    expect(checked.name).toBe('cc');
    expect(checked.manifest?.spec).toMatchObject({
      usableBy: 'administrators',
      endpoints: { api: 'https://api.cc.email/v3' },
      limits: { requestsPerSecond: 4 },
    });
    expect(input.spec).not.toHaveProperty('usableBy');
  });

  it('names the field at fault and carries no file or position', () => {
    const checked = checkManifest(destination({ dataMatching: {}, segments: [], extra: 1 }));
    expect(checked.manifest).toBeUndefined();
    expect(codes(checked.problems).sort()).toEqual([
      'invalid-value spec.segments',
      'missing-field spec.dataMatching.email',
      'unknown-field spec.extra',
    ]);
    for (const problem of checked.problems) {
      expect(problem).not.toHaveProperty('file');
      expect(problem).not.toHaveProperty('line');
      expect(problem.resource).toBe('ExportDestination/vip');
    }
  });

  it('runs the single-document rules: consent, endpoints, cron', () => {
    expect(
      codes(
        checkManifest(
          connection({ dataPrivacyConsent: false, endpoints: { api: 'http://cc.example.com/v3' } }),
        ).problems,
      ),
    ).toEqual(['privacy-consent-required spec.dataPrivacyConsent', 'insecure-endpoint spec.endpoints.api']);
    expect(codes(checkManifest(destination({ schedule: '61 * * * *' })).problems)).toEqual([
      'invalid-cron spec.schedule',
    ]);
    expect(
      codes(
        checkManifest({
          apiVersion: 'exportctl/v1',
          kind: 'Refresh',
          metadata: { name: 'default' },
          spec: { cron: '0 * * * *', timezone: 'Mars/Olympus' },
        }).problems,
      ),
    ).toEqual(['invalid-cron spec.timezone']);
  });

  it('leaves the rules across documents out: a dangling reference is not its business', () => {
    expect(checkManifest(destination()).problems).toEqual([]);
  });

  it('refuses a literal secret without echoing it', () => {
    const checked = checkManifest(
      connection({
        auth: { clientId: 'client', clientSecret: 'hunter2-literal', refreshToken: { env: 'X' } },
      }),
    );
    expect(codes(checked.problems)).toEqual(['literal-secret spec.auth.clientSecret']);
    expect(JSON.stringify(checked.problems)).not.toContain('hunter2-literal');
  });

  it('checkManifestSchema stops at the schema', () => {
    const checked = checkManifestSchema(connection({ dataPrivacyConsent: false }));
    expect(checked.problems).toEqual([]);
    expect(checked.manifest?.spec).toMatchObject({ dataPrivacyConsent: false });
    expect(codes(checkManifestSchema('a string').problems)).toEqual(['not-a-manifest ']);
    expect(codes(checkManifestSchema({ kind: 'Segment' }).problems)).toEqual(['unknown-kind kind']);
  });
});
