/**
 * Small manifest texts for table-driven tests. Every builder puts apiVersion, kind and metadata on
 * lines 1-4 and `spec:` on line 5, so the first spec line given is line 6: positions in the tests
 * can be counted by eye.
 */
export function manifest(kind: string, name: string, specLines: readonly string[]): string {
  return [
    `apiVersion: exportctl/v1`,
    `kind: ${kind}`,
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...specLines.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

export const connectionSpec = [
  'type: constant-contact', // line 6
  'dataPrivacyConsent: true', // 7
  'exportUser: ops@example.com', // 8
  'auth:', // 9
  '  clientId: client', // 10
  '  clientSecret: { env: CC_SECRET }', // 11
  '  refreshToken: { env: CC_REFRESH }', // 12
];

export const sourceSpec = [
  'type: csv', // 6
  'profiles: data/profiles.csv', // 7
  'key: CustomerId', // 8
  'segmentMembership: data/membership.csv', // 9
];

export const destinationSpec = [
  'connection: cc', // 6
  'source: profiles', // 7
  'listId: 04fe9a97-a579-43c5-bb1a-58ed29bf0a6a', // 8
  'dataMatching:', // 9
  '  email: EmailAddress', // 10
  'segments: [VIP]', // 11
  'schedule: manual', // 12
];

/** Replaces the spec line starting with `prefix` (after indentation) by `line`; throws if absent. */
export function withLine(spec: readonly string[], prefix: string, line: string | null): string[] {
  const index = spec.findIndex((item) => item.trimStart().startsWith(prefix));
  if (index < 0) throw new Error(`no line starting with ${prefix}`);
  const copy = [...spec];
  if (line === null) copy.splice(index, 1);
  else copy[index] = line;
  return copy;
}

/** A valid connection `cc` and source `profiles` that the cases' destinations refer to. */
export const baseFiles: Record<string, string> = {
  'base/connection.yaml': manifest('Connection', 'cc', connectionSpec),
  'base/source.yaml': manifest('ProfileSource', 'profiles', sourceSpec),
};
