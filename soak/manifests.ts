import { writeFileSync } from 'node:fs';
import type { ConnectionPlan, DestinationSpec } from './scenario-types';

/** The scenario's manifests as one YAML file: connections to the sandbox, the csv source, the destinations. */
export function manifestsYaml(input: {
  readonly sandbox: { readonly apiUrl: string; readonly tokenUrl: string };
  readonly requestsPerSecond: number;
  readonly connections: readonly ConnectionPlan[];
  readonly destinations: readonly DestinationSpec[];
}): string {
  const documents = [
    ...input.connections.map(
      (connection) => `apiVersion: exportctl/v1
kind: Connection
metadata: { name: ${connection.name} }
spec:
  type: constant-contact
  dataPrivacyConsent: true
  exportUser: soak@example.com
  auth:
    clientId: ${connection.clientId}
    clientSecret: { env: ${connection.secretEnv} }
    refreshToken: { env: ${connection.refreshTokenEnv} }
  endpoints: { api: ${input.sandbox.apiUrl}, token: ${input.sandbox.tokenUrl} }
  limits: { requestsPerSecond: ${input.requestsPerSecond} }
`,
    ),
    `apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec: { type: csv, profiles: data/profiles.csv, key: CustomerId, segmentMembership: data/segment-membership.csv }
`,
    ...input.destinations.map(
      (destination) => `apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: ${destination.name} }
spec:
  connection: ${destination.connection}
  source: profiles
  listId: ${destination.listId}
  dataMatching: { email: EmailAddress${destination.names ? ', firstName: FirstName, lastName: LastName' : ''} }
  segments: ${JSON.stringify(destination.segments)}
  schedule: manual
  removal: ${destination.removal}
  maxRemovalPercent: ${destination.maxRemovalPercent}
`,
    ),
  ];
  return documents.join('---\n');
}

/** Writes the manifests to `file`. */
export function writeManifests(file: string, input: Parameters<typeof manifestsYaml>[0]): void {
  writeFileSync(file, manifestsYaml(input));
}
