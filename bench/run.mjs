#!/usr/bin/env node
// `npm run bench [section...]`: runs the benchmark sections in bench/sections/ (all, or those named)
// against the built code in dist/, and prints what each measured. Figures are printed, never
// asserted: targets are read by people, not enforced by the unit tests.
// Only loopback addresses are ever contacted.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
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
  await section.run({ root: join(here, '..'), log: (line) => process.stdout.write(`${line}\n`) });
}
