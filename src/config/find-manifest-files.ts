import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Problem } from './problem';

const MANIFEST_EXTENSION = /\.ya?ml$/i;

export interface FoundFiles {
  /** Absolute paths, in a stable order, each at most once. */
  readonly files: string[];
  readonly problems: Problem[];
}

/**
 * Expands PATH arguments into manifest files: a file is taken as it is; a folder means every
 * `*.yaml` / `*.yml` below it, except in hidden folders (`.github`, `.git`) and `node_modules`,
 * which hold YAML that is not ours. A missing path or a folder with no manifests is a problem.
 */
export function findManifestFiles(paths: readonly string[], cwd: string): FoundFiles {
  const files: string[] = [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    let key = file;
    try {
      key = realpathSync(file);
    } catch {
      // A dangling symlink: keep it, so reading it reports the problem with its own name.
    }
    if (!seen.has(key)) {
      seen.add(key);
      files.push(file);
    }
  };

  for (const path of paths.length > 0 ? paths : ['.']) {
    const absolute = resolve(cwd, path);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(absolute).isDirectory();
    } catch (error) {
      problems.push({
        code: 'path-not-found',
        severity: 'error',
        message: `${path} does not exist (${errnoOf(error)})`,
        hint: 'pass a manifest file or a folder of manifests',
        file: absolute,
      });
      continue;
    }
    if (!isDirectory) {
      add(absolute);
      continue;
    }
    const found = walk(absolute);
    if (found.length === 0) {
      problems.push({
        code: 'no-manifests',
        severity: 'error',
        message: `${path} holds no *.yaml or *.yml files`,
        hint: 'point at the folder that holds your manifests (hidden folders and node_modules are skipped)',
        file: absolute,
      });
    }
    for (const file of found) add(file);
  }
  return { files, problems };
}

function walk(folder: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.') && entry.name !== 'node_modules') out.push(...walk(path));
    } else if (MANIFEST_EXTENSION.test(entry.name) && (entry.isFile() || entry.isSymbolicLink())) {
      out.push(path);
    }
  }
  return out;
}

export function errnoOf(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.message : String(error);
}
