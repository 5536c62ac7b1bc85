import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { SandboxHandle } from '../../src/sandbox';
import { connectionYaml } from './export-world';
import { loadProfileGenerator } from './profile-generator';
import { vipListId } from './sandbox-client';

/** The environment a CLI run against the sandbox needs (its secrets, an administrator). */
export const everyoneEnv = {
  CC_CLIENT_SECRET: 'sandbox-secret',
  CC_REFRESH_TOKEN: 'sandbox-refresh-token',
  EXPORTCTL_ACTOR: 'ops@example.com',
} as const;

/** `count` generated profiles in `data`, every one of them in the segment "Everyone". */
export async function writeEveryoneData(data: string, count: number): Promise<void> {
  await (await loadProfileGenerator()).writeProfileFiles({ count, folder: data });
  const ids = Array.from({ length: count }, (_, index) => `C${String(index + 1).padStart(7, '0')},Everyone`);
  writeFileSync(join(data, 'segment-membership.csv'), `CustomerId,Segment\n${ids.join('\n')}\n`);
}

/**
 * `exportctl.yaml` in `into`: a connection to the sandbox (50 requests/second), the profiles in
 * `data` (relative or absolute), and the destination `everyone` exporting all of them into the VIP
 * list on `schedule`.
 */
export function writeEveryoneManifests(
  into: string,
  sandbox: SandboxHandle,
  data: string,
  schedule = 'manual',
): void {
  writeFileSync(
    join(into, 'exportctl.yaml'),
    `${connectionYaml(sandbox, 50)}---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: profiles }
spec: { type: csv, profiles: ${data}/profiles.csv, key: CustomerId, segmentMembership: ${data}/segment-membership.csv }
---
apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: everyone }
spec:
  connection: cc
  source: profiles
  listId: ${vipListId}
  dataMatching: { email: EmailAddress, firstName: FirstName, lastName: LastName }
  segments: [Everyone]
  schedule: ${JSON.stringify(schedule)}
`,
  );
}

/** Whether `ready` holds of the state file now (read-only); false while it is missing or busy. */
export function stateHolds(state: string, ready: (db: Database.Database) => boolean): boolean {
  try {
    const db = new Database(state, { readonly: true, fileMustExist: true });
    try {
      return ready(db);
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

/** Polls the state (read-only) until `ready` says so; gives up (false) when `done` says so. */
export async function waitForState(
  state: string,
  ready: (db: Database.Database) => boolean,
  done: () => boolean,
): Promise<boolean> {
  while (!done()) {
    if (stateHolds(state, ready)) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

/** Some import batch of the run is in `state` (planned, sending, submitted, confirmed). */
export const batchIn = (state: string) => (db: Database.Database) =>
  db.prepare('SELECT 1 FROM export_import_batches WHERE state = ?').get(state) !== undefined;
