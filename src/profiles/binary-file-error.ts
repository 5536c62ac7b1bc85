import { open } from 'node:fs/promises';
import type { SourceEncoding } from './source-encoding';
import { SourceError } from './source-error';

/** A text file format a source reads, as the messages about a file that is not one name it. */
export interface TextFormat {
  /** As the manifest's `type` names it: `csv`. */
  readonly name: string;
  /** What to save a spreadsheet as: `CSV (UTF-8)`. */
  readonly spreadsheetExport: string;
  /** What to export the data as: `CSV`. */
  readonly textExport: string;
}

/** Leading bytes of files that are not text, and what to do about each. */
const binarySignatures: readonly {
  readonly kind: string;
  readonly magic: readonly number[];
  readonly hint: (format: TextFormat) => string;
}[] = [
  {
    kind: 'gzip',
    magic: [0x1f, 0x8b],
    hint: ({ name }) =>
      `it is compressed: decompress it (gunzip) and point the ProfileSource at the ${name} file, or write the export uncompressed`,
  },
  {
    kind: 'zip',
    magic: [0x50, 0x4b, 0x03, 0x04],
    hint: ({ name, spreadsheetExport }) =>
      `an Excel .xlsx workbook or a zip archive is not ${name}: export it as ${spreadsheetExport} from the spreadsheet, or unzip it`,
  },
  {
    kind: 'xls',
    magic: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    hint: ({ name, spreadsheetExport }) =>
      `an Excel .xls workbook is not ${name}: export it as ${spreadsheetExport} from the spreadsheet`,
  },
  { kind: 'bzip2', magic: [0x42, 0x5a, 0x68], hint: () => 'it is compressed: decompress it (bunzip2) first' },
  {
    kind: 'xz',
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    hint: () => 'it is compressed: decompress it (unxz) first',
  },
  {
    kind: 'zstd',
    magic: [0x28, 0xb5, 0x2f, 0xfd],
    hint: () => 'it is compressed: decompress it (unzstd) first',
  },
  {
    kind: 'sqlite',
    magic: [...Buffer.from('SQLite format 3\0', 'latin1')],
    hint: () => 'a sqlite database is a source of its own: declare type: sqlite with database: and a table',
  },
];

/**
 * The SourceError (`source-unreadable`) for a text source file (`format`: csv, jsonl) that is not
 * text: a gzip file, an .xlsx workbook, a sqlite database or another binary file saved under the
 * source's name, or UTF-16 text read as UTF-8. Undefined when it is text, or cannot be opened (the
 * read reports that). Reads the first 4 KiB; judges by the first line, which is a csv header or a
 * jsonl object whatever the rows after it hold.
 */
export async function binaryFileError(
  file: string,
  encoding: SourceEncoding | undefined,
  format: TextFormat,
): Promise<SourceError | undefined> {
  let sample: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      sample = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch {
    return undefined;
  }
  const text = format.name;
  // The first line is a csv header or a jsonl object: text, whatever the rows after it hold.
  const newline = sample.indexOf(0x0a);
  const firstLine = newline === -1 ? sample : sample.subarray(0, newline);
  if (encoding !== 'utf-16le' && looksLikeUtf16(firstLine)) {
    return new SourceError(
      'source-unreadable',
      `${file} looks like UTF-16 text, not the UTF-8 ${text} it is read as`,
      {
        context: { file },
        hint: "set the ProfileSource's encoding: utf-16le, or export the file as UTF-8",
      },
    );
  }
  // Control bytes no text line holds (tab, carriage return, form feed and escape aside).
  const hasBinaryBytes =
    encoding !== 'utf-16le' &&
    firstLine.some((byte) => byte < 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0c && byte !== 0x1b);
  const signature = binarySignatures.find(
    ({ magic }) => sample.length >= magic.length && magic.every((byte, index) => sample[index] === byte),
  );
  // 'BZh' could start a header line: a signature made of letters needs binary bytes after it too.
  const printableMagic = signature?.magic.every((byte) => byte >= 0x20 && byte < 0x7f) ?? false;
  const kind =
    signature && (!printableMagic || hasBinaryBytes) ? signature.kind : hasBinaryBytes ? 'binary' : undefined;
  if (kind === undefined) return undefined;
  return new SourceError(
    'source-unreadable',
    `${file} looks like a binary file (${kind}), not ${text} text`,
    {
      context: { file },
      hint:
        signature?.kind === kind
          ? signature.hint(format)
          : `export it as ${format.textExport} text, or point the ProfileSource at the right file`,
    },
  );
}

/** UTF-16LE text: a byte-order mark, or the NUL high byte after every ASCII character. */
function looksLikeUtf16(line: Buffer): boolean {
  if (line[0] === 0xff && line[1] === 0xfe) return true;
  if (line.length < 4) return false;
  for (let index = 1; index < line.length; index += 2) if (line[index] !== 0) return false;
  return true;
}
