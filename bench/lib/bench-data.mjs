import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the run benches share: the generated data files, the manifests they run, and how figures are
 * printed. Every bench section writes the same data the same way, so their figures compare.
 */

/** The generator's seed: the same profiles in every bench. */
export const seed = 20261122;

/** The quickstart seed's "VIP and newsletter" list. */
export const listId = '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a';

/**
 * data/profiles.csv from the generator (every `changeEvery`-th first name changed), and with
 * `memberships` data/segment-membership.csv (every profile in "Everyone") and, with `slices`,
 * data/slices.csv (profile i in slice i mod slices).
 */
export async function writeData(
  generator,
  count,
  folder,
  { changeEvery = 0, memberships = false, slices = 0 },
) {
  mkdirSync(folder, { recursive: true });
  const open = (name) => createWriteStream(join(folder, name));
  const profiles = open('profiles.csv');
  const everyone = memberships ? open('segment-membership.csv') : undefined;
  const sliced = memberships && slices > 0 ? open('slices.csv') : undefined;
  const write = (stream, text) =>
    stream.write(text) ? undefined : new Promise((resolve) => stream.once('drain', resolve));
  await write(profiles, 'CustomerId,EmailAddress,FirstName,LastName,Country,LifetimeValue\n');
  if (everyone) await write(everyone, 'CustomerId,Segment\n');
  if (sliced) await write(sliced, 'CustomerId,Segment\n');
  let index = 0;
  for (const { profile } of generator.generateProfiles({ count, seed })) {
    if (changeEvery && (index + 1) % changeEvery === 50 % changeEvery)
      profile.FirstName = `${profile.FirstName}-changed`;
    await write(profiles, `${Object.values(profile).map(generator.csvField).join(',')}\n`);
    if (everyone) await write(everyone, `${profile.CustomerId},Everyone\n`);
    if (sliced) await write(sliced, `${profile.CustomerId},${sliceName(index % slices)}\n`);
    index += 1;
  }
  const streams = [profiles, everyone, sliced].filter(Boolean);
  await Promise.all(streams.map((stream) => new Promise((resolve) => stream.end(resolve))));
}

export const sliceName = (i) => `S${String(i + 1).padStart(2, '0')}`;
/** List IDs for the run --all sandbox: a UUID per index. */
export const sliceListId = (i) => `5a1ce000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;

export const connectionYaml = (sandbox) => `apiVersion: exportctl/v1
kind: Connection
metadata: { name: sandbox }
spec:
  type: constant-contact
  dataPrivacyConsent: true
  exportUser: bench@example.com
  auth:
    clientId: sandbox-client
    clientSecret: { env: CC_CLIENT_SECRET }
    refreshToken: { env: CC_REFRESH_TOKEN }
  endpoints: { api: ${sandbox.apiUrl}, token: ${sandbox.tokenUrl} }
`;
export const sourceYaml = (membership) => `---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec:
  type: csv
  profiles: ../data/profiles.csv
  key: CustomerId
  segmentMembership: ../data/${membership}
`;
export const destinationYaml = (name, list, segment) => `---
apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: ${name} }
spec:
  connection: sandbox
  source: profiles
  listId: ${list}
  dataMatching: { email: EmailAddress, firstName: FirstName, lastName: LastName }
  segments: [${segment}]
  schedule: manual
`;

export const MB = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`;
export const MiB = (bytes) => `${Math.round(bytes / 2 ** 20)} MiB`;
export const s = (seconds) => `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
export const int = (n) => Math.round(n).toLocaleString('en-US');
export const x = (ratio) => `${ratio.toFixed(1)}x`;
