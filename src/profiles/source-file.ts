import { stat } from 'node:fs/promises';
import { errnoOf } from '../config/find-manifest-files';
import { formatSourceOrigin } from './row-location';
import { SourceError } from './source-error';

/**
 * Resolves when `file` is an existing regular file; otherwise rejects with a SourceError:
 * `source-file-missing` (nothing there) or `source-unreadable` (a folder, or stat failed).
 */
export async function assertSourceFile(file: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (error) {
    throw sourceFileError(file, error);
  }
  if (!isFile)
    throw new SourceError('source-unreadable', `${file} is not a file`, {
      context: { file },
      hint: 'point the ProfileSource at a file (paths are relative to the manifest)',
    });
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
