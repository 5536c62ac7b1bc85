import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * `sha256:` and the hex SHA-256 of the manifest files as they are now: each file's absolute path and
 * content, in the order given. A file that cannot be read counts as its absence, so a deleted or
 * renamed manifest changes the hash too.
 */
export function manifestsHash(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file)).update('\0');
    } catch {
      hash.update('(unreadable)\0');
    }
  }
  return `sha256:${hash.digest('hex')}`;
}
