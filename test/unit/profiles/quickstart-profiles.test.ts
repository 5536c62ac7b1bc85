import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadManifests, ofKind } from '../../../src/config';
import { type ExportContact, type RowIssue, readContacts } from '../../../src/profiles';
import { repoRoot } from '../../support/exportctl-cli';
import { collect } from '../../support/profile-fixtures';
import { type GeneratedProfile, loadProfileGenerator } from '../../support/profile-generator';
import { ContactDeduper } from '../../support/reference-dedupe';
import { tempFolder } from '../../support/temp-folder';

const quickstart = join(repoRoot, 'config-examples', 'quickstart');
const manifests = () => loadManifests([quickstart], { cwd: repoRoot }).manifests;

let generated: GeneratedProfile[];

beforeAll(async () => {
  const generator = await loadProfileGenerator();
  // The expectations below come from the generator's stated edge cases, so first make sure the
  // quickstart data is exactly what the generator writes with its default seed.
  const folder = tempFolder();
  await generator.writeProfileFiles({ count: 1000, folder });
  for (const file of ['profiles.csv', 'segment-membership.csv'])
    expect(readFileSync(join(quickstart, 'data', file)).equals(readFileSync(join(folder, file))), file).toBe(
      true,
    );
  generated = [...generator.generateProfiles({ count: 1000 })];
});

/**
 * What a destination should get, from the generator's edge-case rules (row i; `i % 100`): 7 an
 * invalid email, 71 no email, 57 a first name over 50 characters, 43 a line break in the last name,
 * 23 row 22's mailbox in other letter case. Nothing here calls the code under test.
 */
function expectedFor(segments: readonly string[], mapsFirst: boolean, mapsLast: boolean) {
  const selected = new Set<number>();
  generated.forEach((each, index) => {
    if (each.segments.some((segment) => segments.includes(segment))) selected.add(index + 1);
  });
  const rows = [...selected];
  const edge = (n: number) => rows.filter((i) => i % 100 === n);
  const key = (i: number) => `C${String(i).padStart(7, '0')}`;
  return {
    selectedMembers: selected.size,
    invalidEmail: edge(7).map(key),
    missingEmail: edge(71).map(key),
    nameTruncated: mapsFirst ? edge(57).map(key) : [],
    nameControl: mapsLast ? edge(43).map(key) : [],
    contacts: selected.size - edge(7).length - edge(71).length,
    duplicates: edge(23)
      .filter((i) => selected.has(i - 1))
      .map((i) => ({ key: key(i), keptKey: key(i - 1) })),
    membershipRows: generated.reduce((sum, each) => sum + each.segments.length, 0),
  };
}

describe.each(['vip-newsletter', 'win-back'])('quickstart destination %s, read end to end', (name) => {
  let contacts: ExportContact[];
  let issues: RowIssue[];
  let summary: ReturnType<typeof readContacts>['summary'];
  let expected: ReturnType<typeof expectedFor>;

  beforeAll(async () => {
    const loaded = manifests();
    const [source] = ofKind(loaded, 'ProfileSource');
    const destination = ofKind(loaded, 'ExportDestination').find((each) => each.name === name);
    if (source === undefined || destination === undefined) throw new Error('quickstart manifests not found');
    const { dataMatching, segments } = destination.manifest.spec;
    issues = [];
    const read = readContacts({
      source: source.manifest.spec,
      baseDir: dirname(source.source.file),
      segments,
      dataMatching,
      onIssue: (issue) => issues.push(issue),
    });
    contacts = await collect(read);
    summary = read.summary;
    expected = expectedFor(
      segments,
      dataMatching.firstName !== undefined,
      dataMatching.lastName !== undefined,
    );
  });

  const keysOf = (code: string) => issues.filter((issue) => issue.code === code).map((issue) => issue.key);

  it('has the expected row errors and warnings, no others', () => {
    expect(keysOf('invalid-email')).toEqual(expected.invalidEmail);
    expect(keysOf('missing-email')).toEqual(expected.missingEmail);
    expect(keysOf('name-truncated')).toEqual(expected.nameTruncated);
    expect(keysOf('name-control-characters')).toEqual(expected.nameControl);
    expect(issues).toHaveLength(
      expected.invalidEmail.length +
        expected.missingEmail.length +
        expected.nameTruncated.length +
        expected.nameControl.length,
    );
    expect(expected.invalidEmail.length + expected.missingEmail.length).toBeGreaterThan(0);
  });

  it('yields every selected member with a valid email, and counts what it read', () => {
    expect(contacts).toHaveLength(expected.contacts);
    expect(summary).toMatchObject({
      membershipRows: expected.membershipRows,
      selectedMembers: expected.selectedMembers,
      profileRows: 1000,
      contacts: expected.contacts,
      membersWithoutProfile: 0,
      rowErrors: expected.invalidEmail.length + expected.missingEmail.length,
      rowWarnings: expected.nameTruncated.length + expected.nameControl.length,
    });
  });

  it('dedupes the shared mailboxes, keeping the smaller key', () => {
    const deduper = new ContactDeduper();
    for (const contact of contacts) deduper.add(contact);
    expect(deduper.duplicates().map(({ key, keptKey }) => ({ key, keptKey }))).toEqual(expected.duplicates);
    expect(deduper.size).toBe(expected.contacts - expected.duplicates.length);
  });

  it('trims and lowercases the whitespace/upper-case variants (row i % 100 = 13)', () => {
    const variant = contacts.find((contact) => Number(contact.key.slice(1)) % 100 === 13);
    expect(variant?.email).toMatch(/^[^\s]+$/);
    expect(variant?.email).not.toBe(variant?.emailKey);
    expect(variant?.emailKey).toBe(variant?.email.toLowerCase());
  });
});
