import { pipeline, Readable } from 'node:stream';
import { type CsvError, type Options, Parser } from 'csv-parse';
import { type CsvColumns, CsvScanner } from './csv-scanner';
import { readableBatches } from './readable-batches';
import { decodedAsUtf8, type SourceEncoding } from './source-encoding';
import { reusedFileChunks, sourceFileError } from './source-file';

/**
 * One parsed csv record, or one record the parser had to skip. `line` is the 1-based physical line
 * on which the record starts (csv-parse counts a CRLF inside a quoted field as two lines; this
 * corrects for it).
 */
export type CsvRecord =
  | { readonly values: readonly string[]; readonly line: number; readonly error?: undefined }
  | { readonly error: CsvError; readonly line: number; readonly values?: undefined };

/**
 * The csv-parse options every reader of ours uses (RFC 4180: `"` quotes, `""` escapes, newlines
 * inside quotes; a UTF-8 BOM dropped; LF, CRLF or CR line ends, mixed too). Column counts are
 * checked by the caller (a wrong count is a row issue, not a parse error); a quoting error skips
 * that record only.
 * No max_record_size: csv-parse silently drops the rest of the file after exceeding it.
 */
export const csvParseOptions = {
  bom: true,
  // Listed rather than auto-detected: auto-detection fixes the first line's ending for the whole
  // file, and a file with mixed endings (concatenated exports) then keeps a CR in its values.
  record_delimiter: ['\r\n', '\n', '\r'],
  relax_column_count: true,
  skip_records_with_error: true,
} as const satisfies Options;

type Pushed = { readonly values: string[]; readonly endLine: number } | { readonly error: CsvError };

// csv-parse tells a record's line only through `info`, whose per-record snapshot (option `info` or
// `on_record`) doubles the parse time; reading the live counter when a record is pushed costs
// nothing. Skipped records are pushed into the same stream so that they keep their place in order.
class LineTrackingParser extends Parser {
  constructor(options: Options) {
    const self: { parser?: Parser } = {};
    super({
      ...options,
      on_skip: (error) => {
        if (error) self.parser?.push({ error } satisfies Pushed);
      },
    });
    self.parser = this;
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (Array.isArray(chunk)) return super.push({ values: chunk, endLine: this.info.lines } satisfies Pushed);
    return super.push(chunk, encoding);
  }
}

/** What a read saw of the file's bytes, complete once the iteration has ended. */
export interface CsvFileTail {
  /** The file's last byte (after decoding to UTF-8), -1 for an empty file. */
  lastByte: number;
}

/**
 * Streams the records of a csv file (header included) with the line each starts on, in file order,
 * in batches (one per chunk read); memory does not grow with the file. The file is read as
 * `encoding` (UTF-8 by default). `tail`, when given, learns the file's last byte. Rejects (while
 * iterating) with a SourceError when the file cannot be opened or read.
 */
export async function* readCsvRecordBatches(
  file: string,
  options: {
    readonly encoding?: SourceEncoding;
    readonly tail?: CsvFileTail;
    /** The columns whose cells the caller reads (see `CsvColumns`); all when absent. */
    readonly columns?: CsvColumns;
  } = {},
): AsyncGenerator<CsvRecord[]> {
  try {
    yield* csvRecordBatches(
      // One buffer, reused: the scanner keeps nothing of a chunk (see `CsvScanner.push`).
      watchedTail(decodedAsUtf8(reusedFileChunks(file, readChunkBytes), options.encoding), options.tail),
      options.columns,
    );
  } catch (error) {
    throw sourceFileError(file, error);
  }
}

/** A read's chunk: 64 KiB, a stream's default, and what a batch of rows is cut at. */
const readChunkBytes = 64 * 1024;

async function* watchedTail(
  chunks: AsyncIterable<Buffer>,
  tail: CsvFileTail | undefined,
): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    if (tail !== undefined && chunk.length > 0) tail.lastByte = chunk[chunk.length - 1] ?? -1;
    yield chunk;
  }
}

/**
 * The records of csv `chunks`, in batches: `CsvScanner` (fast, well-formed csv) as long as the
 * records are well-formed, then csv-parse with `csvParseOptions` from the first malformed record to
 * the end, so that malformed rows are skipped and reported exactly as csv-parse does.
 */
export async function* csvRecordBatches(
  chunks: AsyncIterable<Buffer>,
  columns?: CsvColumns,
): AsyncGenerator<CsvRecord[]> {
  const iterator = chunks[Symbol.asyncIterator]();
  const scanner = new CsvScanner(columns);
  try {
    for (;;) {
      const next = await iterator.next();
      const scanned = next.done ? scanner.end() : scanner.push(next.value as Buffer);
      if (scanned.records.length > 0) yield scanned.records;
      if (scanned.malformed) {
        const { rest, line } = scanned.malformed;
        const remaining = next.done ? [] : { [Symbol.asyncIterator]: () => iterator };
        yield* csvParseRecordBatches(Readable.from(concatChunks(rest, remaining)), line, { bom: false });
        return;
      }
      if (next.done) return;
    }
  } finally {
    await iterator.return?.();
  }
}

/** `first`, then copies of the chunks of `rest` (a parser may keep them past the next read). */
async function* concatChunks(
  first: Buffer,
  rest: AsyncIterable<Buffer> | readonly Buffer[],
): AsyncGenerator<Buffer> {
  yield first;
  for await (const chunk of rest) yield Buffer.from(chunk);
}

/**
 * csv-parse with `csvParseOptions` over `source`, whose first record starts on line `firstLine` of
 * the file: the reference reader, which `csvRecordBatches` hands malformed input to. `bom: false`
 * when the source does not start the file (a BOM is only dropped there).
 */
export async function* csvParseRecordBatches(
  source: Readable,
  firstLine = 1,
  options: { bom: boolean } = { bom: true },
): AsyncGenerator<CsvRecord[]> {
  const parser = new LineTrackingParser({ ...csvParseOptions, bom: options.bom });
  let failure: unknown;
  const records = pipeline(source, parser, (error) => {
    failure ??= error;
  });
  const offset = firstLine - 1;
  // csv-parse's count, and how far it runs ahead of the physical line (one per CRLF in quotes).
  let parserLine = 0;
  let overcount = 0;
  try {
    for await (const pushed of readableBatches<Pushed>(records)) {
      const batch: CsvRecord[] = [];
      for (const record of pushed) {
        if ('error' in record) {
          batch.push({ error: record.error, line: offset + parserLine + 1 - overcount });
          parserLine = typeof record.error.lines === 'number' ? record.error.lines : parserLine + 1;
          continue;
        }
        let breaks = 0;
        let crlfs = 0;
        for (const value of record.values) {
          if (value.length === 0) continue;
          breaks += countChar(value, '\n') + countChar(value, '\r');
          if (value.includes('\r\n')) crlfs += value.split('\r\n').length - 1;
        }
        batch.push({ values: record.values, line: offset + record.endLine - breaks - overcount });
        overcount += crlfs;
        parserLine = record.endLine;
      }
      yield batch;
    }
  } catch (error) {
    throw failure ?? error;
  }
}

function countChar(text: string, char: string): number {
  let count = 0;
  for (let index = text.indexOf(char); index !== -1; index = text.indexOf(char, index + 1)) count++;
  return count;
}
