#!/usr/bin/env node
// Writes the golden copies of the Pulumi provider's shim: for every kind, the provider object
// serialized as Pulumi stores it in each resource's `__provider` and hands the dynamic-provider host
// (serializeFunction(() => provider), from the build; the repository's own program, run from the
// source through ts-node, registers the same text, which the compatibility test checks), into
// test/fixtures/pulumi/shims/<version in package.json>/<Kind>.js. Stacks keep running the shim they
// were written with, so every released shim stays a fixture that the compatibility test runs
// against the current build (provider/dynamic/shim-interface.ts).
//
// Run it when a release changes the shim (the compatibility test fails until the newest copies are
// the current shim): bump the version in package.json, build, then write.
//
//   npm run build && node scripts/write-shim-fixtures.mjs
//   node scripts/write-shim-fixtures.mjs --replace   # rewrite this version's copies (unreleased only)
//
// Copies of a version that already has them are never rewritten unless --replace is given: a
// released shim is in users' stacks as it was.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const load = createRequire(join(root, 'package.json'));

const { values } = parseArgs({ options: { replace: { type: 'boolean', default: false } } });

if (!existsSync(join(root, 'dist', 'provider', 'dynamic', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first (the shim is serialized from the build)');
  process.exit(1);
}
const pulumi = load('@pulumi/pulumi');
const { exportctlProvider } = load('./dist/provider/dynamic');
const { manifestKinds } = load('./dist/src/config');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const folder = join(root, 'test', 'fixtures', 'pulumi', 'shims', version);

const texts = new Map();
for (const kind of manifestKinds) {
  const provider = exportctlProvider(kind);
  texts.set(kind, (await pulumi.runtime.serializeFunction(() => provider)).text);
}

const changed = [...texts].filter(([kind, text]) => {
  const file = join(folder, `${kind}.js`);
  return !existsSync(file) || readFileSync(file, 'utf8') !== text;
});
if (changed.length === 0) {
  console.log(`the shims of ${version} are up to date in ${folder}`);
  process.exit(0);
}
const existing = changed.filter(([kind]) => existsSync(join(folder, `${kind}.js`)));
if (existing.length > 0 && !values.replace) {
  console.error(
    `the shim of ${existing.map(([kind]) => kind).join(', ')} differs from the copy of ${version}, which is` +
      ' never rewritten once released: bump the version in package.json and run this again' +
      ' (or pass --replace if that version was never released)',
  );
  process.exit(1);
}
mkdirSync(folder, { recursive: true });
for (const [kind, text] of changed) {
  writeFileSync(join(folder, `${kind}.js`), text);
  console.log(`wrote ${join(folder, `${kind}.js`)}`);
}
