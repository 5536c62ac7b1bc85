import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoadedManifest, ProblemCode } from '../../../src/config';
import { tempFolder } from '../../support/temp-folder';
import {
  baseFiles,
  connectionSpec,
  destinationSpec,
  manifest,
  sourceSpec,
  withLine,
} from './manifest-builders';

/** One invalid input and the error problems it must produce: [code, file, line, column]. */
export interface BadManifestCase {
  readonly name: string;
  /** Files to write (relative paths); `{symlinkTo}` makes a symlink. `baseFiles` are added unless `base: false`. */
  readonly files: Record<string, string | { symlinkTo: string }>;
  readonly base?: boolean;
  /** PATH arguments, relative to the temp folder (default: the folder itself). */
  readonly paths?: readonly string[];
  readonly actor?: string;
  /** Resources the change leaves alone (in-process only: the CLI has no state to compare with yet). */
  readonly unchanged?: (manifest: LoadedManifest) => boolean;
  readonly expect: readonly (readonly [ProblemCode, string | null, number | null, number | null])[];
  /** Text that must not appear anywhere in the output (a secret). */
  readonly mustNotPrint?: string;
}

const conn = (spec: readonly string[], name = 'cc2') => manifest('Connection', name, spec);
const dest = (spec: readonly string[], name = 'vip') => manifest('ExportDestination', name, spec);
const refresh = (spec: readonly string[], name = 'default') => manifest('Refresh', name, spec);
const access = (spec: readonly string[], name = 'default') => manifest('Access', name, spec);
const admins = ['administrators: [ops@example.com]', 'contributors: [ana@example.com]'];

export const badManifestCases: readonly BadManifestCase[] = [
  // --- YAML syntax
  {
    name: 'unterminated quoted string',
    // The string runs on to the next quote; yaml points at the end of the line that lacks one.
    files: {
      'case.yaml':
        'apiVersion: exportctl/v1\nkind: Refresh\nmetadata:\n  name: "daily\nspec:\n  cron: "0 * * * *"\n',
    },
    expect: [['yaml-syntax', 'case.yaml', 4, 15]],
  },
  {
    name: 'duplicate key',
    files: { 'case.yaml': 'apiVersion: exportctl/v1\nkind: Refresh\nkind: Refresh\n' },
    expect: [['yaml-syntax', 'case.yaml', 3, 1]],
  },
  {
    name: 'tab indentation',
    files: { 'case.yaml': 'apiVersion: exportctl/v1\nkind: Refresh\nmetadata:\n\tname: daily\n' },
    expect: [['yaml-syntax', 'case.yaml', 4, 1]],
  },
  {
    // Issue #22 (9): one problem per file for tabs, not one per indented line.
    name: 'tab indentation on every line of two documents: one problem, at the first tab',
    files: {
      'case.yaml':
        'apiVersion: exportctl/v1\nkind: Refresh\nmetadata:\n\tname: daily\nspec:\n\tcron: "0 * * * *"\n\ttimezone: UTC\n' +
        '---\napiVersion: exportctl/v1\nkind: Access\nmetadata:\n\tname: default\nspec:\n\tadministrators: [ops@example.com]\n',
    },
    expect: [['yaml-syntax', 'case.yaml', 4, 1]],
  },
  {
    name: 'unclosed flow mapping',
    files: {
      'case.yaml':
        'apiVersion: exportctl/v1\nkind: Refresh\nmetadata: { name: daily\nspec:\n  cron: "0 * * * *"\n',
    },
    expect: [['yaml-syntax', 'case.yaml', 4, 1]],
  },
  {
    name: 'a document that is a list',
    files: { 'case.yaml': '- apiVersion: exportctl/v1\n- kind: Refresh\n' },
    expect: [['not-a-manifest', 'case.yaml', 1, 1]],
  },
  {
    name: 'a document that is a scalar, after a valid one',
    files: { 'case.yaml': `${refresh(['cron: "0 * * * *"'])}---\njust some text\n` },
    expect: [['not-a-manifest', 'case.yaml', 8, 1]],
  },
  // --- apiVersion and kind
  {
    name: 'missing kind',
    files: { 'case.yaml': 'apiVersion: exportctl/v1\nmetadata:\n  name: daily\n' },
    expect: [['missing-field', 'case.yaml', 1, 1]],
  },
  {
    name: 'unknown kind',
    files: { 'case.yaml': manifest('Conection', 'cc2', connectionSpec) },
    expect: [['unknown-kind', 'case.yaml', 2, 7]],
  },
  {
    name: 'apiVersion v2',
    files: { 'case.yaml': refresh(['cron: "0 * * * *"']).replace('exportctl/v1', 'exportctl/v2') },
    expect: [['unsupported-api-version', 'case.yaml', 1, 13]],
  },
  {
    name: 'missing apiVersion',
    files: { 'case.yaml': refresh(['cron: "0 * * * *"']).replace('apiVersion: exportctl/v1\n', '') },
    expect: [['missing-field', 'case.yaml', 1, 1]],
  },
  // --- metadata
  {
    name: 'name with uppercase letters',
    files: { 'case.yaml': refresh(['cron: "0 * * * *"'], 'Daily') },
    expect: [['invalid-format', 'case.yaml', 4, 9]],
  },
  {
    name: 'name longer than 63 characters',
    files: { 'case.yaml': refresh(['cron: "0 * * * *"'], 'a'.repeat(64)) },
    expect: [['invalid-format', 'case.yaml', 4, 9]],
  },
  {
    name: 'missing metadata.name',
    files: {
      'case.yaml': refresh(['cron: "0 * * * *"']).replace('  name: default', '  labels: { team: a }'),
    },
    expect: [['missing-field', 'case.yaml', 3, 1]],
  },
  {
    name: 'unknown field in metadata',
    files: {
      'case.yaml': refresh(['cron: "0 * * * *"']).replace('  name: default', '  name: default\n  owner: me'),
    },
    expect: [['unknown-field', 'case.yaml', 5, 3]],
  },
  // --- wrong types
  {
    name: 'dataPrivacyConsent: yes (a string in YAML 1.2)',
    files: { 'case.yaml': conn(withLine(connectionSpec, 'dataPrivacyConsent', 'dataPrivacyConsent: yes')) },
    expect: [['wrong-type', 'case.yaml', 7, 23]],
  },
  {
    name: 'segments as a string',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'segments', 'segments: VIP')) },
    expect: [['wrong-type', 'case.yaml', 11, 13]],
  },
  {
    name: 'maxRemovalPercent as text',
    files: { 'case.yaml': dest([...destinationSpec, 'maxRemovalPercent: ten']) },
    expect: [['wrong-type', 'case.yaml', 13, 22]],
  },
  {
    name: 'list ID written as a number',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'listId', 'listId: 12345')) },
    expect: [['wrong-type', 'case.yaml', 8, 11]],
  },
  {
    name: 'spec as a list',
    files: { 'case.yaml': refresh(['- cron']) },
    expect: [['wrong-type', 'case.yaml', 6, 3]],
  },
  {
    name: 'clientId as a number',
    files: { 'case.yaml': conn(withLine(connectionSpec, 'clientId', '  clientId: 123')) },
    expect: [['wrong-type', 'case.yaml', 10, 15]],
  },
  // --- unknown fields
  {
    name: 'specs instead of spec',
    files: { 'case.yaml': refresh(['cron: "0 * * * *"']).replace('spec:', 'specs:') },
    expect: [
      ['missing-field', 'case.yaml', 1, 1],
      ['unknown-field', 'case.yaml', 5, 1],
    ],
  },
  {
    name: 'listID instead of listId',
    files: {
      'case.yaml': dest(withLine(destinationSpec, 'listId', 'listID: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a')),
    },
    expect: [
      ['missing-field', 'case.yaml', 5, 1],
      ['unknown-field', 'case.yaml', 8, 3],
    ],
  },
  {
    name: 'unknown field in dataMatching',
    files: {
      // SMS numbers are out of scope (they need consent evidence per contact): not a mapped field.
      'case.yaml': dest(withLine(destinationSpec, 'email', '  email: EmailAddress\n    smsNumber: Phone')),
    },
    expect: [['unknown-field', 'case.yaml', 11, 5]],
  },
  {
    name: 'more than 25 custom fields',
    files: {
      'case.yaml': dest(
        withLine(
          destinationSpec,
          'email',
          `  email: EmailAddress\n    customFields:\n${Array.from({ length: 26 }, (_, index) => `      F${index}: c${index}`).join('\n')}`,
        ),
      ),
    },
    expect: [['invalid-value', 'case.yaml', 12, 7]],
  },
  {
    name: 'a birthday month without its day',
    files: {
      'case.yaml': dest(
        withLine(destinationSpec, 'email', '  email: EmailAddress\n    birthdayMonth: BMonth'),
      ),
    },
    expect: [['invalid-value', 'case.yaml', 10, 5]],
  },
  {
    name: 'unknown field in auth',
    files: { 'case.yaml': conn([...connectionSpec, '  token: abc']) },
    expect: [['unknown-field', 'case.yaml', 13, 5]],
  },
  {
    name: 'secret reference with both env and file',
    files: {
      'case.yaml': conn(withLine(connectionSpec, 'clientSecret', '  clientSecret: { env: A, file: b }')),
    },
    expect: [['invalid-value', 'case.yaml', 11, 19]],
  },
  {
    name: 'secret reference of an unknown kind',
    files: { 'case.yaml': conn(withLine(connectionSpec, 'clientSecret', '  clientSecret: { vault: x }')) },
    expect: [['unknown-field', 'case.yaml', 11, 21]],
  },
  {
    name: 'database on a csv source',
    files: { 'case.yaml': manifest('ProfileSource', 'crm', [...sourceSpec, 'database: x.db']) },
    expect: [['unknown-field', 'case.yaml', 10, 3]],
  },
  {
    // The URL may hold a password: a postgres database is a reference, and the value is not echoed.
    name: 'postgres source with its URL written in the manifest',
    files: {
      'case.yaml': manifest('ProfileSource', 'crm', [
        ...withLine(sourceSpec, 'type', 'type: postgres'),
        'database: postgres://crm:Hunter2-pg-secret@db.example.com/crm',
      ]),
    },
    expect: [['unknown-field', 'case.yaml', 10, 3]],
    mustNotPrint: 'Hunter2-pg-secret',
  },
  {
    name: 'sqlite source with a secret reference as its database',
    files: {
      'case.yaml': manifest('ProfileSource', 'crm', [
        ...withLine(sourceSpec, 'type', 'type: sqlite'),
        'database: { env: CRM_DB }',
      ]),
    },
    expect: [['unknown-field', 'case.yaml', 10, 3]],
  },
  {
    name: 'changeDetection on a csv source',
    files: {
      'case.yaml': manifest('ProfileSource', 'crm', [...sourceSpec, 'changeDetection: { listen: crm }']),
    },
    expect: [['unknown-field', 'case.yaml', 10, 3]],
  },
  {
    name: 'changeDetection with both a query and a channel',
    files: {
      'case.yaml': manifest('ProfileSource', 'crm', [
        ...withLine(sourceSpec, 'type', 'type: postgres'),
        'database: { env: CRM_DB }',
        'changeDetection: { query: "select 1", listen: crm }',
      ]),
    },
    expect: [['unknown-field', 'case.yaml', 11, 3]],
  },
  // --- required fields
  {
    name: 'missing dataMatching.email',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'email', '  firstName: FirstName')) },
    expect: [['missing-field', 'case.yaml', 9, 3]],
  },
  {
    name: 'missing segments',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'segments', null)) },
    expect: [['missing-field', 'case.yaml', 5, 1]],
  },
  {
    name: 'missing listId',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'listId', null)) },
    expect: [['missing-field', 'case.yaml', 5, 1]],
  },
  {
    name: 'connection without auth',
    files: { 'case.yaml': conn(connectionSpec.slice(0, 3)) },
    expect: [['missing-field', 'case.yaml', 5, 1]],
  },
  {
    name: 'sqlite source without database',
    files: { 'case.yaml': manifest('ProfileSource', 'crm', withLine(sourceSpec, 'type', 'type: sqlite')) },
    expect: [['missing-field', 'case.yaml', 5, 1]],
  },
  {
    name: 'refresh without cron',
    files: { 'case.yaml': refresh(['timezone: UTC']) },
    expect: [['missing-field', 'case.yaml', 5, 1]],
  },
  // --- formats and values
  {
    name: 'list ID that is not a UUID',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'listId', 'listId: 04fe9a97-a579-43c5-bb1a')) },
    expect: [['invalid-format', 'case.yaml', 8, 11]],
  },
  {
    name: 'exportUser that is not an email',
    files: { 'case.yaml': conn(withLine(connectionSpec, 'exportUser', 'exportUser: ops')) },
    expect: [['invalid-format', 'case.yaml', 8, 15]],
  },
  {
    name: 'endpoint that is not a URL',
    files: { 'case.yaml': conn([...connectionSpec, 'endpoints:', '  api: not a url']) },
    expect: [['invalid-format', 'case.yaml', 14, 10]],
  },
  {
    name: 'environment variable name starting with a digit',
    files: { 'case.yaml': conn(withLine(connectionSpec, 'clientSecret', '  clientSecret: { env: 1BAD }')) },
    expect: [['invalid-format', 'case.yaml', 11, 26]],
  },
  {
    // Issue #13 (6): the secret itself pasted where the variable's NAME belongs.
    name: 'a secret pasted as the name of the clientSecret variable',
    files: {
      'case.yaml': conn(
        withLine(connectionSpec, 'clientSecret', '  clientSecret: { env: "pasted-SECRET.9f8e/7d6c+b5a4" }'),
      ),
    },
    expect: [['invalid-format', 'case.yaml', 11, 26]],
    mustNotPrint: 'pasted-SECRET.9f8e/7d6c+b5a4',
  },
  {
    name: 'a refresh token pasted as the name of the refreshToken variable',
    files: {
      'case.yaml': conn(
        withLine(connectionSpec, 'refreshToken', '  refreshToken: { env: "rt-PASTED-0123456789" }'),
      ),
    },
    expect: [['invalid-format', 'case.yaml', 12, 26]],
    mustNotPrint: 'rt-PASTED-0123456789',
  },
  {
    name: 'removal: delete',
    files: { 'case.yaml': dest([...destinationSpec, 'removal: delete']) },
    expect: [['invalid-value', 'case.yaml', 13, 12]],
  },
  {
    name: 'usableBy: everyone',
    files: { 'case.yaml': conn([...connectionSpec, 'usableBy: everyone']) },
    expect: [['invalid-value', 'case.yaml', 13, 13]],
  },
  {
    name: 'source of a type no adapter reads',
    files: { 'case.yaml': manifest('ProfileSource', 'crm', withLine(sourceSpec, 'type', 'type: mysql')) },
    expect: [['invalid-value', 'case.yaml', 6, 9]],
  },
  {
    name: 'postgres source without database',
    files: { 'case.yaml': manifest('ProfileSource', 'crm', withLine(sourceSpec, 'type', 'type: postgres')) },
    expect: [['missing-field', 'case.yaml', 5, 1]],
  },
  {
    name: 'maxRemovalPercent over 100',
    files: { 'case.yaml': dest([...destinationSpec, 'maxRemovalPercent: 150']) },
    expect: [['invalid-value', 'case.yaml', 13, 22]],
  },
  {
    name: 'empty segments list',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'segments', 'segments: []')) },
    expect: [['invalid-value', 'case.yaml', 11, 13]],
  },
  {
    name: 'a segment listed twice',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'segments', 'segments: [VIP, VIP]')) },
    expect: [['invalid-value', 'case.yaml', 11, 13]],
  },
  {
    name: 'Access with no administrators',
    files: { 'case.yaml': access(['administrators: []']) },
    expect: [['invalid-value', 'case.yaml', 6, 19]],
  },
  {
    name: 'a webhook URL written into the Access notifications',
    files: {
      'case.yaml': access([
        'administrators: [ops@example.com]',
        'notifications:',
        '  webhook:',
        '    url: https://hooks.example.com/T0/B0/do-not-print-9',
      ]),
    },
    expect: [['literal-secret', 'case.yaml', 9, 12]],
    mustNotPrint: 'do-not-print-9',
  },
  // --- rules
  {
    name: 'notifications email with a user but no password',
    files: {
      'case.yaml': access([
        'administrators: [ops@example.com]',
        'notifications:',
        '  email:',
        '    host: smtp.example.com',
        '    from: exportctl@example.com',
        '    user: notifier',
      ]),
    },
    expect: [['missing-field', 'case.yaml', 11, 13]],
  },
  {
    name: 'dataPrivacyConsent: false',
    files: { 'case.yaml': conn(withLine(connectionSpec, 'dataPrivacyConsent', 'dataPrivacyConsent: false')) },
    expect: [['privacy-consent-required', 'case.yaml', 7, 23]],
  },
  {
    name: 'literal clientSecret',
    files: {
      'case.yaml': conn(withLine(connectionSpec, 'clientSecret', '  clientSecret: hunter2-do-not-print')),
    },
    expect: [['literal-secret', 'case.yaml', 11, 19]],
    mustNotPrint: 'hunter2-do-not-print',
  },
  {
    name: 'literal refreshToken',
    files: {
      'case.yaml': conn(withLine(connectionSpec, 'refreshToken', '  refreshToken: rt-1234567890-secret')),
    },
    expect: [['literal-secret', 'case.yaml', 12, 19]],
    mustNotPrint: 'rt-1234567890-secret',
  },
  {
    name: 'plain http to a remote host',
    files: { 'case.yaml': conn([...connectionSpec, 'endpoints:', '  api: http://cc.example.com/v3']) },
    expect: [['insecure-endpoint', 'case.yaml', 14, 10]],
  },
  {
    name: 'dangling connection reference',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'connection', 'connection: ccc')) },
    expect: [['dangling-reference', 'case.yaml', 6, 15]],
  },
  {
    name: 'dangling source reference',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'source', 'source: crm')) },
    expect: [['dangling-reference', 'case.yaml', 7, 11]],
  },
  {
    name: 'two connections with one name',
    files: { 'case.yaml': conn(connectionSpec, 'cc') },
    expect: [['duplicate-name', 'case.yaml', 4, 9]],
  },
  {
    name: 'two Access documents',
    files: { 'case.yaml': `${access(admins)}---\n${access(admins, 'other')}` },
    expect: [['duplicate-singleton', 'case.yaml', 10, 7]],
  },
  {
    name: 'two Refresh documents in two files',
    files: { 'a.yaml': refresh(['cron: "0 * * * *"']), 'b.yaml': refresh(['cron: "0 6 * * *"'], 'morning') },
    expect: [['duplicate-singleton', 'b.yaml', 2, 7]],
  },
  {
    name: 'bad cron in Refresh',
    files: { 'case.yaml': refresh(['cron: "61 * * * *"']) },
    expect: [['invalid-cron', 'case.yaml', 6, 9]],
  },
  {
    name: 'unknown time zone',
    files: { 'case.yaml': refresh(['cron: "0 * * * *"', 'timezone: Mars/Olympus_Mons']) },
    expect: [['invalid-cron', 'case.yaml', 7, 13]],
  },
  {
    name: 'destination schedule that is not a cron expression',
    files: { 'case.yaml': dest(withLine(destinationSpec, 'schedule', 'schedule: every day')) },
    expect: [['invalid-cron', 'case.yaml', 12, 13]],
  },
  {
    name: 'exportUser who is not an administrator',
    files: { 'case.yaml': access(['administrators: [boss@example.com]']) },
    expect: [['export-user-not-administrator', 'base/connection.yaml', 8, 15]],
  },
  {
    name: 'a contributor managing a destination on an administrators-only connection',
    files: { 'base/access.yaml': access(admins), 'case.yaml': dest(destinationSpec) },
    actor: 'ana@example.com',
    unchanged: (item) => item.kind !== 'ExportDestination',
    expect: [['permission-denied', 'case.yaml', 6, 15]],
  },
  {
    name: 'an identity with no role at all',
    files: { 'base/access.yaml': access(admins), 'case.yaml': dest(destinationSpec) },
    actor: 'mallory@example.com',
    expect: [['permission-denied', 'base/access.yaml', 6, 3]],
  },
  // --- files and folders
  {
    name: 'unreadable file (a symlink to nothing)',
    files: { 'case.yaml': { symlinkTo: 'missing-target.yaml' } },
    expect: [['file-unreadable', 'case.yaml', null, null]],
  },
  {
    name: 'a folder with no manifests',
    files: { 'empty/README.md': '# nothing here\n' },
    paths: ['empty'],
    expect: [['no-manifests', 'empty', null, null]],
  },
  {
    name: 'a path that does not exist',
    files: {},
    paths: ['nowhere'],
    expect: [['path-not-found', 'nowhere', null, null]],
  },
  {
    name: 'files that hold no YAML documents',
    base: false,
    files: { 'empty.yaml': '# only a comment\n' },
    expect: [['no-manifests', 'empty.yaml', null, null]],
  },
];

/** Writes a case's files into a fresh temp folder and returns the folder. */
export function writeCase(testCase: BadManifestCase): string {
  const root = tempFolder();
  const files = { ...(testCase.base === false ? {} : baseFiles), ...testCase.files };
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    if (typeof content === 'string') writeFileSync(target, content);
    else symlinkSync(join(root, content.symlinkTo), target);
  }
  return root;
}
