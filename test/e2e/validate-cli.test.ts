import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, repoRoot, runExportctl } from '../support/exportctl-cli';
import { copyToTemp } from '../support/temp-folder';
import { badManifestCases, writeCase } from '../unit/config/bad-manifest-cases';

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

function expectNoStackTrace(result: CliResult): void {
  expect(result.stdout).not.toMatch(STACK_LINE);
  expect(result.stderr).not.toMatch(STACK_LINE);
}

describe('exportctl validate (the built CLI)', () => {
  it.each(['config-examples/quickstart', 'config-examples/gitops'])(
    '%s is valid (exit 0) with no identity',
    async (path) => {
      const result = await runExportctl(['validate', path]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/manifests in \d+ files: valid/);
    },
  );

  it('the gitops example is valid for the CI identity with no warnings', async () => {
    const result = await runExportctl(['validate', 'config-examples/gitops'], {
      env: { EXPORTCTL_ACTOR: 'platform-bot@example.com' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('9 manifests in 7 files: valid (0 errors, 0 warnings)');
  });

  it('a broken copy of the quickstart exits 1 with one file:line:col line per problem', async () => {
    const folder = copyToTemp(join(repoRoot, 'config-examples', 'quickstart'));
    const destinations = join(folder, 'destinations.yaml');
    writeFileSync(
      destinations,
      readFileSync(destinations, 'utf8')
        .replace('listId: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a', 'listId: not-a-uuid')
        .replace(
          'connection: marketing-cc\n  source: unified-profiles\n  listId: 6b4f',
          'connection: marketing\n  source: unified-profiles\n  listId: 6b4f',
        ),
    );
    const result = await runExportctl(['validate', '.'], {
      cwd: folder,
      env: { EXPORTCTL_ACTOR: 'ops@example.com' },
    });
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n').filter((line) => /^\S+:\d+:\d+: /.test(line));
    expect(lines).toEqual([
      'destinations.yaml:11:11: ExportDestination/vip-newsletter: spec.listId "not-a-uuid" is not in the expected format',
      'destinations.yaml:27:15: ExportDestination/win-back: connection "marketing" names no declared Connection',
    ]);
    expect(result.stdout).toContain('  hint: did you mean "marketing-cc"?');
    expectNoStackTrace(result);
  });

  it('counts every manifest file, and says how many did not parse', async () => {
    const folder = copyToTemp(join(repoRoot, 'config-examples', 'quickstart'));
    writeFileSync(join(folder, 'broken.yaml'), 'apiVersion: exportctl/v1\nkind: [Refresh\n');
    writeFileSync(
      join(folder, 'tabbed.yaml'),
      'apiVersion: exportctl/v1\nkind: Refresh\nmetadata:\n\tname: x\n',
    );
    const result = await runExportctl(['validate', '.'], {
      cwd: folder,
      env: { EXPORTCTL_ACTOR: 'ops@example.com' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(
      '6 manifests in 6 files, 2 did not parse: 2 errors, 0 warnings',
    );
    const json = JSON.parse(
      (
        await runExportctl(['validate', '.', '-o', 'json'], {
          cwd: folder,
          env: { EXPORTCTL_ACTOR: 'ops@example.com' },
        })
      ).stdout,
    ) as { files: string[]; unparsedFiles: string[] };
    expect(json.files).toHaveLength(6);
    expect(json.unparsedFiles).toEqual(['broken.yaml', 'tabbed.yaml']);
  });

  it('--output json prints every problem with a stable code and position', async () => {
    const folder = copyToTemp(join(repoRoot, 'config-examples', 'quickstart'));
    writeFileSync(
      join(folder, 'connection.yaml'),
      readFileSync(join(folder, 'connection.yaml'), 'utf8').replace(
        'dataPrivacyConsent: true',
        'dataPrivacyConsent: false',
      ),
    );
    const result = await runExportctl(['validate', '--output', 'json'], {
      cwd: folder,
      env: { EXPORTCTL_ACTOR: 'ops@example.com' },
    });
    expect(result.code).toBe(1);
    const body = JSON.parse(result.stdout) as {
      valid: boolean;
      actor: string;
      problems: Record<string, unknown>[];
      manifests: unknown[];
    };
    expect(body.valid).toBe(false);
    expect(body.actor).toBe('ops@example.com');
    expect(body.manifests).toHaveLength(6);
    expect(body.problems).toEqual([
      {
        code: 'privacy-consent-required',
        severity: 'error',
        message: 'dataPrivacyConsent must be true: exporting sends customer data to Constant Contact',
        hint: 'set dataPrivacyConsent: true once your organisation agrees to share this data with Constant Contact',
        file: 'connection.yaml',
        line: 12,
        column: 23,
        resource: 'Connection/marketing-cc',
        path: 'spec.dataPrivacyConsent',
      },
    ]);
  });

  it('--output markdown lists the problems for a pull-request comment', async () => {
    const folder = copyToTemp(join(repoRoot, 'config-examples', 'quickstart'));
    writeFileSync(join(folder, 'extra.yaml'), 'apiVersion: exportctl/v1\nkind: Segment\n');
    const result = await runExportctl(['validate', '-o', 'markdown'], {
      cwd: folder,
      env: { EXPORTCTL_ACTOR: 'ops@example.com' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('### ❌ The manifests do not validate');
    expect(result.stdout).toContain(
      '- ❌ `extra.yaml:2:7` kind "Segment" is not an exportctl kind (`unknown-kind`)',
    );
  });

  it('a bad option is a usage error, not a crash', async () => {
    const result = await runExportctl(['validate', '--output', 'xml']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("argument 'xml' is invalid");
    expectNoStackTrace(result);
  });

  it('a secret pasted where the variable NAME belongs: said where and what to do, never shown (text, markdown)', async () => {
    // Issue #13 (6); --output json is checked by the table below (mustNotPrint).
    const testCase = badManifestCases.find((item) => item.name.startsWith('a secret pasted as the name'));
    if (!testCase?.mustNotPrint) throw new Error('the bad-manifest table lost its pasted-secret case');
    const folder = writeCase(testCase);
    for (const output of ['text', 'markdown']) {
      const result = await runExportctl(['validate', '--output', output], { cwd: folder });
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).not.toContain(testCase.mustNotPrint);
      expect(result.stdout).toContain('case.yaml:11:26');
      expect(result.stdout).toContain('{env: NAME} takes the NAME of an environment variable');
    }
  });

  describe.concurrent('every invalid input of the table, through the CLI', () => {
    const cases = badManifestCases.filter((testCase) => !testCase.unchanged);
    it.each(cases.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
      const folder = writeCase(testCase);
      const result = await runExportctl(['validate', '--output', 'json', ...(testCase.paths ?? [])], {
        cwd: folder,
        env: testCase.actor ? { EXPORTCTL_ACTOR: testCase.actor } : {},
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('');
      expectNoStackTrace(result);
      const body = JSON.parse(result.stdout) as {
        problems: { code: string; severity: string; line: number | null; column: number | null }[];
      };
      const errors = body.problems
        .filter((problem) => problem.severity === 'error')
        .map((problem) => [problem.code, problem.line, problem.column]);
      expect(errors).toEqual(testCase.expect.map(([code, , line, column]) => [code, line, column]));
      if (testCase.mustNotPrint) expect(result.stdout).not.toContain(testCase.mustNotPrint);
    });
  });
});
