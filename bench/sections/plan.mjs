// Plans 1,000 export destinations against a state that holds them (issue 4's target: under 2 s), with
// and without re-reading remote facts, through the built CLI against the sandbox on loopback.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DESTINATIONS = 1000;
const PER_FILE = 10;

/**
 * Applies 1,000 destinations to a fresh state, then times `plan` with and without the drift refresh;
 * `state` is `(folder) => URL` of the state to use (default a SQLite file in the temp folder).
 * `statements`, if given, resolves a count of the state server's transactions (read before and
 * after each step). Resolves with the three measurements ({ ms, requests, last[, statements] } each).
 */
export async function planThousand({
  root,
  log,
  statements,
  state = (folder) => `sqlite:${join(folder, 'state.db')}`,
  label = '',
}) {
  const require = createRequire(import.meta.url);
  const { startSandbox } = require(join(root, 'dist', 'src', 'sandbox'));
  const folder = mkdtempSync(join(tmpdir(), 'exportctl-bench-plan-'));
  const sandbox = await startSandbox({ clientLimits: { requestsPerSecond: 4 } });
  try {
    const listIds = [];
    for (let index = 0; index < DESTINATIONS; index++) {
      listIds.push(sandbox.account.createList(`Bench list ${index}`, false, Date.now()).listId);
    }
    const manifests = join(folder, 'manifests');
    mkdirSync(join(manifests, 'destinations'), { recursive: true });
    const data = join(root, 'config-examples', 'quickstart', 'data');
    writeFileSync(
      join(manifests, 'platform.yaml'),
      `apiVersion: exportctl/v1
kind: Connection
metadata: { name: marketing-cc }
spec:
  type: constant-contact
  usableBy: administrators-and-contributors
  dataPrivacyConsent: true
  exportUser: ops@example.com
  auth: { clientId: sandbox-client, clientSecret: { env: CC_CLIENT_SECRET }, refreshToken: { env: CC_REFRESH_TOKEN } }
  endpoints: { api: ${sandbox.apiUrl}, token: ${sandbox.tokenUrl} }
---
apiVersion: exportctl/v1
kind: ProfileSource
metadata: { name: unified-profiles }
spec: { type: csv, profiles: ${data}/profiles.csv, key: CustomerId, segmentMembership: ${data}/segment-membership.csv }
`,
    );
    for (let file = 0; file < DESTINATIONS / PER_FILE; file++) {
      const docs = [];
      for (let index = file * PER_FILE; index < (file + 1) * PER_FILE; index++) {
        docs.push(`apiVersion: exportctl/v1
kind: ExportDestination
metadata: { name: destination-${index} }
spec:
  connection: marketing-cc
  source: unified-profiles
  listId: ${listIds[index]}
  dataMatching: { email: EmailAddress, firstName: FirstName }
  segments: [VIP]
  schedule: manual
`);
      }
      writeFileSync(join(manifests, 'destinations', `team-${file}.yaml`), docs.join('---\n'));
    }
    const env = {
      ...process.env,
      CC_CLIENT_SECRET: 'sandbox-secret',
      CC_REFRESH_TOKEN: 'sandbox-refresh-token',
      EXPORTCTL_STATE: state(folder),
      EXPORTCTL_SECRET_KEY: Buffer.alloc(32, 3).toString('base64'),
      EXPORTCTL_ACTOR: 'ops@example.com',
    };
    // Asynchronous: the sandbox runs in this process and must keep answering while the CLI runs.
    const spawnCli = (args) =>
      new Promise((resolve, reject) => {
        const before = sandbox.stats().total;
        const started = process.hrtime.bigint();
        const child = spawn(
          process.execPath,
          [
            ...(process.env.EXPORTCTL_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
            join(root, 'bin', 'exportctl.js'),
            ...args,
          ],
          { cwd: folder, env },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
        });
        child.stderr.on('data', (chunk) => {
          stderr += chunk;
        });
        child.on('close', (status) => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (status !== 0) {
            const tail = (text) =>
              text
                .trim()
                .split('\n')
                .filter((line) => /FAILED|error|hint/.test(line))
                .slice(0, 6)
                .join('\n');
            reject(
              new Error(
                `exportctl ${args.join(' ')} failed (exit ${status}):\n${tail(stdout)}\n${tail(stderr)}`,
              ),
            );
            return;
          }
          resolve({ ms, requests: sandbox.stats().total - before, last: stdout.trim().split('\n').at(-1) });
        });
      });
    // With `statements` (a count the state's server keeps), how many transactions each step cost it.
    const cli = async (args) => {
      const before = statements === undefined ? undefined : await statements();
      const result = await spawnCli(args);
      return before === undefined ? result : { ...result, statements: (await statements()) - before };
    };
    const apply = await cli(['apply', manifests, '--auto-approve']);
    log(
      `${label}apply of ${DESTINATIONS} destinations + connection + source: ${apply.ms.toFixed(0)} ms, ${apply.requests} API requests: ${apply.last}`,
    );
    const plan = await cli(['plan', manifests]);
    log(
      `${label}plan with drift refresh (re-reads credentials and every list): ${plan.ms.toFixed(0)} ms, ${plan.requests} API requests${plan.statements === undefined ? '' : `, ${plan.statements} state transactions`}: ${plan.last}`,
    );
    const fast = await cli(['plan', manifests, '--no-refresh']);
    log(
      `${label}plan --no-refresh:                                            ${fast.ms.toFixed(0)} ms, ${fast.requests} API requests${fast.statements === undefined ? '' : `, ${fast.statements} state transactions`}: ${fast.last}`,
    );
    log(
      `${label}target < 2000 ms: ${plan.ms < 2000 ? 'met' : 'NOT met'} (with refresh), ${fast.ms < 2000 ? 'met' : 'NOT met'} (without)`,
    );
    return { apply, plan, fast };
  } finally {
    await sandbox.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

export default {
  name: 'plan',
  description: 'plan 1,000 export destinations against a state holding them (target < 2 s)',
  run: ({ root, log }) => planThousand({ root, log }),
};
