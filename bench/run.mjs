#!/usr/bin/env node
// `npm run bench [section...] [--option value...]`: runs the benchmark sections in bench/sections/
// (all, or those named) against the built code in dist/, and prints what each measured. Options
// (`--size 100000`, `--size=100000`) go to every section run; each section's header says which it
// reads (bench/sections/run.mjs: --size, --destinations). Figures are printed, never
// asserted: targets are read by people, not enforced by the unit tests.
// Only loopback addresses are ever contacted.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = [];
const options = {};
for (const args = process.argv.slice(2); args.length > 0; ) {
  const arg = args.shift();
  const option = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
  if (!option) wanted.push(arg);
  else options[option[1]] = option[2] ?? args.shift();
}
const files = readdirSync(join(here, 'sections'))
  .filter((file) => file.endsWith('.mjs'))
  .sort();
const sections = [];
for (const file of files) {
  const section = (await import(pathToFileURL(join(here, 'sections', file)).href)).default;
  if (wanted.length === 0 || wanted.includes(section.name)) sections.push(section);
}
if (sections.length === 0) {
  process.stderr.write(`no benchmark section named ${wanted.join(', ')}; have: ${files.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write(
  `exportctl benchmarks on Node ${process.version}, ${process.platform}/${process.arch}\n`,
);
for (const section of sections) {
  process.stdout.write(`\n## ${section.name}: ${section.description}\n`);
  await section.run({ root: join(here, '..'), log: (line) => process.stdout.write(`${line}\n`), options });
}
