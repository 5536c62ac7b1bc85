import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/exportctl-cli';

/**
 * STYLE.md rule 11: the choice of a profile source's code is made once, in the registry
 * (src/profiles/adapters/); nothing else compares a source's type. This reads src/, provider/
 * and soak/ as text and fails on the patterns such a comparison takes, so that a new
 * `if (spec.type === 'sqlite')` is caught before review; the fix is a method on `SourceAdapter`.
 */

const registryFolder = join('src', 'profiles', 'adapters');
const sourceTypes = (
  JSON.parse(readFileSync(join(repoRoot, 'schemas', 'profile-source.schema.json'), 'utf8')) as {
    properties: { spec: { properties: { type: { enum: string[] } } } };
  }
).properties.spec.properties.type.enum;

const literal = `(['"\`])(?:${sourceTypes.join('|')})\\1`;
/** Where a source's type is compared or switched on, or used to pick from a table. */
const dispatchPatterns: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  {
    what: 'a comparison of a type with a source type',
    pattern: new RegExp(`\\btype\\s*[!=]==?\\s*${literal}`),
  },
  {
    what: 'a comparison of a source type with a type',
    pattern: new RegExp(`${literal}\\s*[!=]==?\\s*[\\w$.?]*\\btype\\b`),
  },
  { what: 'a case of a switch on the source type', pattern: new RegExp(`\\bcase\\s+${literal}\\s*:`) },
  { what: 'a lookup by a type', pattern: /\[\s*[\w$.?]*\.type\s*\]/ },
];

/** The lines of `text` that dispatch on a source type, with their 1-based numbers. */
function dispatchSites(text: string): { line: number; what: string; code: string }[] {
  const sites: { line: number; what: string; code: string }[] = [];
  text.split('\n').forEach((code, index) => {
    const trimmed = code.trim();
    if (trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*')) return;
    for (const { what, pattern } of dispatchPatterns)
      if (pattern.test(code)) sites.push({ line: index + 1, what, code: trimmed });
  });
  return sites;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.generated.ts') ? [path] : [];
  });
}

describe('profile source types are dispatched on in the registry only', () => {
  it('finds the comparisons the adapters replaced (the check itself works)', () => {
    // Lines as they were before the adapters (src/profiles, src/engine, src/watch, src/resources).
    const before = [
      "    if (spec.type === 'sqlite')",
      "  const file = source.type === 'sqlite' ? source.database : source.profiles;",
      "      input.source.type === 'sqlite' ? (input.source.database ?? '.') : input.source.profiles,",
      "    if (source.type !== 'sqlite') {",
      "      case 'csv': {",
      "      case 'jsonl':",
      "  if ('sqlite' === before.type) {",
      '  const hint = hints[spec.type];',
    ];
    for (const line of before) expect(dispatchSites(line), line).toHaveLength(1);
    // Not a profile source: a state URL's scheme, a swagger parameter's format, a condition's type.
    for (const line of [
      "  if (scheme === 'sqlite') {",
      "    } else if (parameter.enum && parameter.format === 'csv') {",
      "  const ready = applied.conditions.find((condition) => condition.type === 'Ready');",
    ])
      expect(dispatchSites(line), line).toEqual([]);
  });

  it('finds none in src/, provider/ or soak/ outside src/profiles/adapters/', () => {
    const found = ['src', 'provider', 'soak']
      .flatMap((folder) => sourceFiles(join(repoRoot, folder)))
      .filter((file) => !relative(repoRoot, file).startsWith(registryFolder + sep))
      .flatMap((file) =>
        dispatchSites(readFileSync(file, 'utf8')).map(
          ({ line, what, code }) => `${relative(repoRoot, file)}:${line}: ${what}: ${code}`,
        ),
      );
    // The fix for each: a method of SourceAdapter (src/profiles/source-adapter.ts) that every adapter implements.
    expect(found).toEqual([]);
  });

  it('reads src/ (the walk finds the files it must)', () => {
    const files = sourceFiles(join(repoRoot, 'src')).map((file) => relative(repoRoot, file));
    expect(files).toContain(join('src', 'watch', 'watch-service.ts'));
    expect(files).toContain(join(registryFolder, 'source-adapters.ts'));
    expect(files.some((file) => file.endsWith('.generated.ts'))).toBe(false);
  });
});
