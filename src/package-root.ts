import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let cached: { root: string; version: string } | undefined;

/**
 * The folder of exportctl's own package.json, found upward from this file, so the same code works
 * from src/ (tests) and from dist/src/ (the built CLI).
 */
export function packageRoot(): string {
  return packageInfo().root;
}

export function packageVersion(): string {
  return packageInfo().version;
}

function packageInfo(): { root: string; version: string } {
  if (cached) return cached;
  let folder = __dirname;
  for (;;) {
    const candidate = join(folder, 'package.json');
    if (existsSync(candidate)) {
      const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'exportctl') {
        cached = { root: folder, version: parsed.version ?? '0.0.0' };
        return cached;
      }
    }
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`exportctl's package.json was not found above ${__dirname}`);
    folder = parent;
  }
}
