import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { errnoOf } from '../config/find-manifest-files';
import { formatSourceOrigin } from './row-location';
import { SourceError } from './source-error';

/**
 * Resolves when `file` is an existing regular file; otherwise rejects with a SourceError:
 * `source-file-missing` (nothing there) or `source-unreadable` (a folder, or stat failed).
 */
export async function assertSourceFile(file: string): Promise<void> {
  await statSourceFile(file);
}

/**
 * What a check that a file reads whole (`SourceAdapter.checkReadsWhole`) reads at a time: it shares
 * its thread with the read it runs beside, which takes a 64 KiB chunk per turn; in chunks 16 times
 * larger the check is through long before the read is (at 1,000,000 profiles, after about a
 * twentieth of it), holding a few MiB at most.
 */
export const checkChunkBytes = 1024 * 1024;

/**
 * The bytes of `file`, `size` at a time, read into one buffer that every chunk reuses: each chunk
 * is valid only until the next is asked for (a consumer that keeps bytes copies them). For the
 * passes that look at each byte once and keep nothing (a content hash, the check that a file reads
 * whole): a stream's new buffer per chunk is memory outside the heap that V8 counts, and the
 * hundreds of MB a million-row file passes through made it collect the whole heap again and again
 * (8-10 full collections in a row while the check ran, in a trace of a rerun).
 */
export async function* reusedFileChunks(file: string, size: number): AsyncGenerator<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(size);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, size, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** What tells one version of a file from another while it is read: size and modification time. */
export interface SourceFileVersion {
  readonly size: number;
  readonly mtimeMs: number;
}

/** `assertSourceFile`, resolving with the file's version (see `assertFileUnchanged`). */
export async function statSourceFile(file: string): Promise<SourceFileVersion> {
  let stats: Stats;
  try {
    stats = await stat(file);
  } catch (error) {
    throw sourceFileError(file, error);
  }
  if (!stats.isFile())
    throw new SourceError('source-unreadable', `${file} is not a file`, {
      context: { file },
      hint: 'point the ProfileSource at a file (paths are relative to the manifest)',
    });
  return { size: stats.size, mtimeMs: stats.mtimeMs };
}

/**
 * Rejects with `source-changed-while-read` when `file` is not the version it was when its read
 * began (another size or modification time: a copy or upload still going on, or a rewrite). What was
 * read may then be half of one version and half of another; the read fails, and no row read after
 * the change is sent. The readers look before each batch they yield, and at the end.
 */
export async function assertFileUnchanged(file: string, before: SourceFileVersion): Promise<void> {
  const after = await statSourceFile(file);
  if (after.size === before.size && after.mtimeMs === before.mtimeMs) return;
  throw new SourceError(
    'source-changed-while-read',
    `${file} changed while it was read (${before.size} bytes when the read began, ${after.size} when looked at again${after.size === before.size ? ', modified since' : ''}): nothing read after the change was sent`,
    {
      context: { file },
      hint: 'write the file elsewhere and move it into place when it is complete (a rename is atomic), then run again',
    },
  );
}

/** A SourceError for a failed open or read of `file`: missing if ENOENT/ENOTDIR, else unreadable. */
export function sourceFileError(file: string, error: unknown): SourceError {
  const errno = errnoOf(error);
  if (errno === 'ENOENT' || errno === 'ENOTDIR')
    return new SourceError('source-file-missing', `${file} does not exist`, {
      cause: error,
      context: { file },
      hint: 'paths in a ProfileSource are relative to the manifest file that declares it',
    });
  return new SourceError('source-unreadable', `cannot read ${formatSourceOrigin(file)} (${errno})`, {
    cause: error,
    context: { file },
    hint: 'check that the file exists and that this user may read it',
  });
}
