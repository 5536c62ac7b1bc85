#!/usr/bin/env node
// `npm run demo`: the main job on the embedded defaults. Until the run engine lands this shows what
// exists (validating the quickstart) and says plainly what does not yet.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line = '') => process.stdout.write(`${line}\n`);

say('exportctl demo');
say('==============');
say('1. Validate config-examples/quickstart (schemas, references, role rules):');
const result = spawnSync(
  process.execPath,
  [join(root, 'bin', 'exportctl.js'), 'validate', 'config-examples/quickstart'],
  {
    cwd: root,
    env: { ...process.env, EXPORTCTL_ACTOR: 'ops@example.com' },
    stdio: 'inherit',
  },
);
if (result.status !== 0) process.exit(result.status ?? 1);
say();
say('2. Sandbox, apply and export runs: not yet available. The local Constant Contact sandbox,');
say('   the reconciler (plan/apply) and the run engine are being built; this demo will start the');
say('   sandbox, apply the quickstart and export both destinations once they land.');
