import type { ProfileSourceSpec } from '../config';

/** A csv/jsonl source's character encoding, as its manifest names it (`spec.encoding`). */
export type SourceEncoding = NonNullable<ProfileSourceSpec['encoding']>;

/** What a file is read as when its source names no encoding. */
export const defaultSourceEncoding: SourceEncoding = 'utf-8';

/**
 * The bytes of `chunks` (a file in `encoding`) as UTF-8, chunk by chunk: the readers scan UTF-8
 * bytes, so another encoding is decoded here once (WHATWG `TextDecoder`, streaming, so a character
 * split between chunks is decoded whole; `latin1` is windows-1252, as the Encoding standard says).
 * UTF-8 passes through untouched, invalid bytes and all: they are found where a name is mapped.
 */
export async function* decodedAsUtf8(
  chunks: AsyncIterable<Buffer>,
  encoding: SourceEncoding = defaultSourceEncoding,
): AsyncGenerator<Buffer> {
  if (encoding === 'utf-8') {
    yield* chunks;
    return;
  }
  const decoder = new TextDecoder(encoding);
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield Buffer.from(text, 'utf8');
  }
  const rest = decoder.decode();
  if (rest !== '') yield Buffer.from(rest, 'utf8');
}
