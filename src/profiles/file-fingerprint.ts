import { createHash } from 'node:crypto';
import { assertSourceFile, checkChunkBytes, reusedFileChunks, sourceFileError } from './source-file';

/**
 * The content fingerprint of source files, in order (`sha256:` and hex): each file's length and
 * bytes, so equal bytes give an equal fingerprint whatever the files' names and times, and one
 * changed byte a different one. Streams each file once. Rejects with a SourceError
 * (`source-file-missing`, `source-unreadable`) when one cannot be read.
 */
export async function fileContentFingerprint(files: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    await assertSourceFile(file);
    const content = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of reusedFileChunks(file, checkChunkBytes)) {
        size += chunk.length;
        content.update(chunk);
      }
    } catch (error) {
      throw sourceFileError(file, error);
    }
    // Each file's own digest and size: two files can never be read as one another's bytes.
    hash.update(`${size}:${content.digest('hex')};`);
  }
  return `sha256:${hash.digest('hex')}`;
}
