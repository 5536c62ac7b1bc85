import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { decodedAsUtf8, type SourceEncoding } from './source-encoding';
import { assertSourceFile, sourceFileError } from './source-file';

/**
 * The object on the first non-blank line of a jsonl file, reading nothing past that line: `empty`
 * when the file has none, `not-an-object` when that line is not a JSON object. The file is decoded
 * from `encoding` as the reader decodes it. Rejects with a SourceError (`source-file-missing`,
 * `source-unreadable`) when the file cannot be read.
 */
export async function readFirstJsonlObject(
  file: string,
  encoding?: SourceEncoding,
): Promise<object | 'empty' | 'not-an-object'> {
  await assertSourceFile(file);
  const bytes = createReadStream(file);
  const input = Readable.from(decodedAsUtf8(bytes, encoding)).setEncoding('utf8');
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    let first = true;
    for await (const raw of lines) {
      // As the reader does: a byte-order mark is stripped from the file's first line only.
      const text = first ? raw.replace(/^\uFEFF/, '') : raw;
      first = false;
      if (text.trim() === '') continue;
      try {
        const parsed: unknown = JSON.parse(text);
        return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
          ? parsed
          : 'not-an-object';
      } catch {
        return 'not-an-object';
      }
    }
    return 'empty';
  } catch (error) {
    throw sourceFileError(file, error);
  } finally {
    lines.close();
    input.destroy();
    bytes.destroy();
  }
}
