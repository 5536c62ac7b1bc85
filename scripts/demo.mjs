#!/usr/bin/env node
// `npm run demo`: the main job on the embedded defaults. Validates config-examples/quickstart,
// starts the local Constant Contact sandbox, applies the quickstart to a SQLite state in a temp
// folder, prints a data plan, runs both exports (twice: the second finds nothing to send), and shows
// the run history and status. Only loopback addresses are contacted. The demo's folder (its state,
// the runs' row issues in it) is kept for a look afterwards: a temp folder, or EXPORTCTL_DEMO_FOLDER.
// `npm run demo -- --state URL` runs it on another state, e.g. an empty PostgreSQL schema
// (postgres://…?schema=demo, with EXPORTCTL_SECRET_KEY set).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSandboxProcess } from './sandbox-process.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'exportctl.js');
const say = (line = '') => process.stdout.write(`${line}\n`);

/** `--state URL` or `--state=URL` from the demo's arguments, if given. */
function stateArgument(argv) {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--state') return argv[i + 1];
    if (argv[i].startsWith('--state=')) return argv[i].slice('--state='.length);
  }
  return undefined;
}

const stateUrl = stateArgument(process.argv.slice(2));
// The URL goes to exportctl in EXPORTCTL_STATE, never on a printed command line: it may hold a password.
const { redactUrl } = createRequire(import.meta.url)(join(root, 'dist', 'src', 'state', 'state-url.js'));
if (
  stateUrl !== undefined &&
  /^postgres(ql)?:/i.test(stateUrl) &&
  !process.env.EXPORTCTL_SECRET_KEY?.trim()
) {
  process.stderr.write(
    'A PostgreSQL state needs EXPORTCTL_SECRET_KEY (its secrets are encrypted with it): e.g.\n' +
      `  EXPORTCTL_SECRET_KEY=$(openssl rand -base64 32) npm run demo -- --state '${redactUrl(stateUrl)}'\n`,
  );
  process.exit(1);
}

/** Runs `exportctl ...args` in `cwd` with the quickstart's secrets; stops the demo if it fails. */
function exportctl(args, cwd, allowedExit = [0]) {
  say(`$ exportctl ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd,
    stdio: 'inherit',
    env: {
      ...process.env,
      EXPORTCTL_ACTOR: 'ops@example.com',
      CC_CLIENT_SECRET: 'sandbox-secret',
      CC_REFRESH_TOKEN: 'sandbox-refresh-token',
      EXPORTCTL_STATE: stateUrl ?? `sqlite:${join(cwd, '.exportctl', 'state.db')}`,
    },
  });
  if (!allowedExit.includes(result.status ?? 1))
    throw new Error(`exportctl ${args[0]} exited ${result.status}`);
  say();
}

/** The sandbox's own view of its lists (its inspection API): what Constant Contact would show. */
async function showLists(url) {
  const response = await fetch(`${url}/__sandbox/lists`);
  const { lists } = await response.json();
  for (const list of lists) say(`   ${list.name.padEnd(24)} ${String(list.members).padStart(6)} members`);
  say();
}

say('exportctl demo');
say('==============');
say('1. Validate config-examples/quickstart (schemas, references, role rules):');
exportctl(['validate', 'config-examples/quickstart'], root);

say(
  '2. Start the local Constant Contact sandbox (its seed has the two lists and three unsubscribed contacts):',
);
const sandbox = await startSandboxProcess(root);
say(`   listening on ${sandbox.url}`);
say();
const folder = process.env.EXPORTCTL_DEMO_FOLDER ?? mkdtempSync(join(tmpdir(), 'exportctl-demo-'));
try {
  mkdirSync(folder, { recursive: true });
  cpSync(join(root, 'config-examples', 'quickstart'), folder, { recursive: true });
  const connection = join(folder, 'connection.yaml');
  writeFileSync(
    connection,
    readFileSync(connection, 'utf8').replaceAll('http://127.0.0.1:8787', sandbox.url),
  );
  const shownState = stateUrl === undefined ? 'a SQLite state in it' : `the state ${redactUrl(stateUrl)}`;
  say(`3. Apply a copy of the quickstart (in ${folder}, pointed at that sandbox) to ${shownState}:`);
  exportctl(['apply', '--auto-approve', '.'], folder);
  say('4. The data plan of vip-newsletter; a dry run sends nothing:');
  exportctl(['run', 'vip-newsletter', '--dry-run'], folder);
  say('5. Run every export:');
  exportctl(['run', '--all'], folder);
  say(
    '6. The lists in the sandbox now (GET /__sandbox/lists): the exported contacts but the unsubscribed ones:',
  );
  await showLists(sandbox.url);
  say('7. Run them again: nothing changed, so nothing is sent:');
  exportctl(['run', '--all'], folder);
  say('8. The run history and the status of each resource:');
  exportctl(['runs'], folder);
  exportctl(['status'], folder);
  say(
    stateUrl === undefined
      ? `Done. The demo's state stays in ${folder} (remove it when done); in that folder, \`exportctl runs vip-newsletter RUN --row-issues\` prints a run's row issues as CSV.`
      : `Done. The demo's state stays in ${redactUrl(stateUrl)} (drop its schema when done); \`exportctl runs vip-newsletter RUN --row-issues --state URL\` prints a run's row issues as CSV.`,
  );
} finally {
  await sandbox.stop();
}
