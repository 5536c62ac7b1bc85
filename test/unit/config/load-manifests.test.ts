import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Connection,
  type ExportDestination,
  loadManifests,
  ofKind,
  resolveActor,
} from '../../../src/config';
import { tempFolder } from '../../support/temp-folder';
import { connectionSpec, destinationSpec, manifest, sourceSpec, withLine } from './manifest-builders';

const root = join(__dirname, '..', '..', '..');

function folderWith(files: Record<string, string>): string {
  const folder = tempFolder();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(folder, path, '..'), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  return folder;
}

const access = manifest('Access', 'default', [
  'administrators: [Ops@Example.com]',
  'contributors: [ana@example.com]',
]);
const sharedConnection = manifest('Connection', 'cc', [
  ...connectionSpec,
  'usableBy: administrators-and-contributors',
]);

describe('loadManifests', () => {
  it('loads every example without errors', () => {
    for (const example of ['quickstart', 'gitops', 'postgres']) {
      const result = loadManifests([join(root, 'config-examples', example)], {
        cwd: root,
        actor: 'ops@example.com',
      });
      expect(result.problems.filter((problem) => problem.severity === 'error')).toEqual([]);
    }
    const quickstart = loadManifests(['config-examples/quickstart'], { cwd: root, actor: 'ops@example.com' });
    expect(quickstart.manifests.map((item) => item.id).sort()).toEqual([
      'Access/default',
      'Connection/marketing-cc',
      'ExportDestination/vip-newsletter',
      'ExportDestination/win-back',
      'ProfileSource/unified-profiles',
      'Refresh/default',
    ]);
  });

  it('fills in schema defaults', () => {
    const folder = folderWith({
      'm.yaml': `${manifest('Connection', 'cc', connectionSpec)}---\n${manifest('ProfileSource', 'profiles', sourceSpec)}---\n${manifest('ExportDestination', 'vip', withLine(destinationSpec, 'schedule', null))}`,
    });
    const { manifests, problems } = loadManifests(['.'], { cwd: folder });
    expect(problems.filter((problem) => problem.severity === 'error')).toEqual([]);
    const connection = ofKind(manifests, 'Connection')[0]?.manifest as Connection;
    expect(connection.spec.usableBy).toBe('administrators');
    expect(connection.spec.endpoints).toEqual({
      api: 'https://api.cc.email/v3',
      token: 'https://authz.constantcontact.com/oauth2/default/v1/token',
    });
    expect(connection.spec.limits).toEqual({ requestsPerSecond: 4, requestsPerDay: 10000 });
    const destination = ofKind(manifests, 'ExportDestination')[0]?.manifest as ExportDestination;
    expect(destination.spec).toMatchObject({ schedule: 'refresh', removal: 'keep', maxRemovalPercent: 10 });
    expect(ofKind(manifests, 'ProfileSource')[0]?.manifest.spec.segmentField).toBe('Segment');
  });

  it('keeps every document of a file with its own positions', () => {
    const folder = folderWith({
      'm.yaml': `# comment\n${manifest('Refresh', 'default', ['cron: "0 * * * *"'])}---\n${manifest('ProfileSource', 'profiles', sourceSpec)}`,
    });
    const { manifests } = loadManifests(['m.yaml'], { cwd: folder });
    const source = manifests.find((item) => item.kind === 'ProfileSource');
    // Line 1 is the comment, the Refresh takes lines 2-7, `---` is line 8.
    expect(source?.source.locate([])).toEqual({ line: 9, column: 1 });
    expect(source?.source.locate(['spec', 'key'])).toEqual({ line: 16, column: 8 });
    expect(source?.source.locate(['spec', 'key'], 'key')).toEqual({ line: 16, column: 3 });
  });

  it('skips hidden folders and node_modules, takes explicit files of any name, and reads a file once', () => {
    const folder = folderWith({
      'a.yaml': manifest('Refresh', 'default', ['cron: "0 * * * *"']),
      '.github/workflows/ci.yml': 'on: push\njobs: {}\n',
      'node_modules/pkg/x.yaml': 'not: ours\n',
      'extra.txt': manifest('ProfileSource', 'profiles', sourceSpec),
    });
    const result = loadManifests(['.', 'a.yaml', 'extra.txt'], { cwd: folder });
    expect(result.problems).toEqual([]);
    expect(result.files.map((file) => file.slice(folder.length + 1))).toEqual(['a.yaml', 'extra.txt']);
  });

  describe('role rules', () => {
    const files = {
      'access.yaml': access,
      'connection.yaml': sharedConnection,
      'source.yaml': manifest('ProfileSource', 'profiles', sourceSpec),
      'destination.yaml': manifest('ExportDestination', 'vip', destinationSpec),
    };
    const onlyDestinations = (item: { kind: string }) => item.kind !== 'ExportDestination';

    it('lets an administrator manage everything, matching emails case-insensitively', () => {
      const result = loadManifests(['.'], { cwd: folderWith(files), actor: 'ops@EXAMPLE.com' });
      expect(result.problems).toEqual([]);
    });

    it('lets a contributor manage a destination on a connection usable by contributors', () => {
      const result = loadManifests(['.'], {
        cwd: folderWith(files),
        actor: 'ana@example.com',
        unchanged: onlyDestinations,
      });
      expect(result.problems).toEqual([]);
    });

    it('refuses a contributor who changes a connection', () => {
      const result = loadManifests(['.'], { cwd: folderWith(files), actor: 'ana@example.com' });
      expect(result.problems.map((problem) => [problem.code, problem.resource])).toEqual([
        ['permission-denied', 'Access/default'],
        ['permission-denied', 'Connection/cc'],
        ['permission-denied', 'ProfileSource/profiles'],
      ]);
    });

    it('without an identity: a warning when validating, an error when applying', () => {
      const validate = loadManifests(['.'], { cwd: folderWith(files), mode: 'validate' });
      expect(validate.problems.map((problem) => [problem.code, problem.severity])).toEqual([
        ['actor-required', 'warning'],
      ]);
      const apply = loadManifests(['.'], { cwd: folderWith(files), mode: 'apply' });
      expect(apply.problems.map((problem) => [problem.code, problem.severity])).toEqual([
        ['actor-required', 'error'],
      ]);
    });

    it('judges roles by the Access in force, not by one the change grants itself', () => {
      const result = loadManifests(['.'], {
        cwd: folderWith({
          ...files,
          'access.yaml': manifest('Access', 'default', [
            'administrators: [ops@example.com, ana@example.com]',
          ]),
        }),
        actor: 'ana@example.com',
        mode: 'apply',
        access: { administrators: ['ops@example.com'], contributors: ['ana@example.com'] },
      });
      expect(result.problems.map((problem) => [problem.code, problem.resource])).toContainEqual([
        'permission-denied',
        'Access/default',
      ]);
    });

    it('has no role checks without an Access', () => {
      const { 'access.yaml': _, ...withoutAccess } = files;
      const result = loadManifests(['.'], {
        cwd: folderWith(withoutAccess),
        actor: 'anyone@example.com',
        mode: 'apply',
      });
      expect(result.problems).toEqual([]);
    });
  });
});

describe('resolveActor', () => {
  it('prefers --as, then EXPORTCTL_ACTOR, then git user.email, then nobody', () => {
    const repo = tempFolder();
    const env = { GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', PATH: process.env.PATH };
    execFileSync('git', ['init', '-q'], { cwd: repo, env });
    expect(resolveActor(undefined, env, repo)).toEqual({ identity: undefined, source: 'none' });
    execFileSync('git', ['config', 'user.email', 'dev@example.com'], { cwd: repo, env });
    expect(resolveActor(undefined, env, repo)).toEqual({ identity: 'dev@example.com', source: 'git' });
    expect(resolveActor(undefined, { ...env, EXPORTCTL_ACTOR: 'ci@example.com' }, repo)).toEqual({
      identity: 'ci@example.com',
      source: 'env',
    });
    expect(resolveActor(' me@example.com ', { ...env, EXPORTCTL_ACTOR: 'ci@example.com' }, repo)).toEqual({
      identity: 'me@example.com',
      source: 'flag',
    });
  });
});
