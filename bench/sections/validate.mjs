// Loads and validates 1,000 manifests in 500 files (issue 2's target: under 1 s on this machine),
// in-process (first call pays for compiling the schemas; second is warm) and through the CLI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FILES = 500;

function manifests(index) {
  const uuid = (n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const destination = (n) => `apiVersion: exportctl/v1
kind: ExportDestination
metadata:
  name: destination-${n}
spec:
  connection: marketing-cc
  source: unified-profiles
  listId: ${uuid(n)}
  dataMatching: { email: EmailAddress, firstName: FirstName, lastName: LastName }
  segments: [Segment${n % 40}, Newsletter]
  schedule: ${n % 3 === 0 ? '"0 6 * * 1-5"' : 'refresh'}
  removal: ${n % 2 === 0 ? 'remove-from-list' : 'keep'}
`;
  if (index === 0) {
    return `apiVersion: exportctl/v1
kind: Connection
metadata: { name: marketing-cc }
spec:
  type: constant-contact
  usableBy: administrators-and-contributors
  dataPrivacyConsent: true
  exportUser: ops@example.com
  auth: { clientId: app, clientSecret: { env: CC_SECRET }, refreshToken: { env: CC_REFRESH } }
---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: unified-profiles }
spec: { type: csv, profiles: profiles.csv, key: CustomerId, segmentMembership: membership.csv }
`;
  }
  if (index === 1) {
    return `apiVersion: exportctl/v1
kind: Access
metadata: { name: default }
spec: { administrators: [ops@example.com], contributors: [ana@example.com] }
---
apiVersion: exportctl/v1
kind: Refresh
metadata: { name: default }
spec: { cron: "0 */6 * * *", timezone: Europe/Paris }
`;
  }
  return `${destination(index * 2)}---\n${destination(index * 2 + 1)}`;
}

/** Writes the benchmark's 1,000 manifests in 500 files under `folder`. */
export function writeBenchManifests(folder) {
  for (let index = 0; index < FILES; index++) {
    const sub = join(folder, `team-${index % 10}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `m-${index}.yaml`), manifests(index));
  }
}

export default {
  name: 'validate',
  description: 'load and validate 1,000 manifests in 500 files (target < 1 s)',
  async run({ root, log }) {
    const folder = mkdtempSync(join(tmpdir(), 'exportctl-bench-validate-'));
    try {
      writeBenchManifests(folder);
      const require = createRequire(import.meta.url);
      const { loadManifests } = require(join(root, 'dist', 'src', 'config'));
      const timed = () => {
        const started = process.hrtime.bigint();
        const result = loadManifests(['.'], { cwd: folder, actor: 'ops@example.com' });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const errors = result.problems.filter((problem) => problem.severity === 'error').length;
        return { ms, manifests: result.manifests.length, files: result.files.length, errors };
      };
      const cold = timed();
      const warm = timed();
      const cliStarted = process.hrtime.bigint();
      const cli = spawnSync(process.execPath, [join(root, 'bin', 'exportctl.js'), 'validate', '.'], {
        cwd: folder,
        env: { ...process.env, EXPORTCTL_ACTOR: 'ops@example.com' },
        encoding: 'utf8',
      });
      const cliMs = Number(process.hrtime.bigint() - cliStarted) / 1e6;
      log(`manifests: ${cold.manifests} in ${cold.files} files, errors: ${cold.errors}`);
      log(`in-process, first call (compiles schemas): ${cold.ms.toFixed(0)} ms`);
      log(`in-process, second call:                   ${warm.ms.toFixed(0)} ms`);
      log(
        `CLI \`exportctl validate\` (process start to exit): ${cliMs.toFixed(0)} ms, exit ${cli.status}: ${cli.stdout.trim()}`,
      );
      log(`target < 1000 ms: ${cliMs < 1000 ? 'met' : 'NOT met'}`);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
};
