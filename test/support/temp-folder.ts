import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const created: string[] = [];

/** A fresh folder under the OS temp dir, removed when the test file is done. */
export function tempFolder(prefix = 'exportctl-test-'): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  created.push(folder);
  return folder;
}

/** A temp copy of `source` (a folder), removed when the test file is done. */
export function copyToTemp(source: string): string {
  const folder = tempFolder();
  cpSync(source, folder, { recursive: true });
  return folder;
}

// Once per file, not after each test: concurrent tests would remove each other's folders.
afterAll(() => {
  for (const folder of created.splice(0)) rmSync(folder, { recursive: true, force: true });
});
