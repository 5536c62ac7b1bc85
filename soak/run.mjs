#!/usr/bin/env node
// `npm run soak -- [--scenarios N] [--seed S] [--profiles P] [--minutes M] [--only K] ...`: a fault
// campaign against the built CLI (dist/) and the sandbox, each in its own process, loopback only.
// Prints a line per scenario, every anomaly with the scenario's steps and its replay command, and a
// summary line; exits 1 when it found an anomaly. docs/soak.md says what it does and how to read it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const soak = createRequire(import.meta.url)(join(root, 'dist', 'soak', 'index.js'));

let options;
try {
  options = soak.parseCampaignArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}
const log = (line) => process.stdout.write(`${line}\n`);
// Stopped from outside: leave no sandbox or exportctl process behind.
process.on('exit', () => soak.killTrackedChildren());
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, () => process.exit(signal === 'SIGINT' ? 130 : 143));
log(
  `exportctl soak: ${options.only === undefined ? `${options.scenarios} scenarios` : `scenario ${options.only}`}, seed ${options.seed}, ${options.profiles} profiles, at most ${options.minutes} min`,
);
const summary = await soak.runCampaign({ ...options, root, log });
log(soak.killsLine(summary));
log(soak.summaryLine(summary));
process.exit(summary.anomalies.length > 0 ? 1 : 0);
