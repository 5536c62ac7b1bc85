import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import type { ProfileSourceSpec } from '../config';

/**
 * A SHA-256 of what a source reads: the bytes of its files (csv, jsonl: the profiles and the
 * segment membership; sqlite: the database and its write-ahead log, if any), each under its path,
 * and the source's spec. Equal hashes: the source reads the same rows. Streamed, so a 100 MB file
 * costs a read of it, not its size in memory. Rejects when a file cannot be read (the run then
 * reads the source, which says why).
 *
 * A local stand-in: the source adapters are to give their own content fingerprint.
 */
export async function sourceContentHash(source: ProfileSourceSpec): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(['v1', source]));
  const files =
    source.type === 'sqlite'
      ? [source.database ?? '', `${source.database ?? ''}-wal`].filter(
          (file, index) => index === 0 || existsSync(file),
        )
      : [source.profiles, source.segmentMembership];
  for (const file of files) {
    hash.update(`\0${file}\0`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
