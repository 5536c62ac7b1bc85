import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { ProfileSourceSpec } from '../config';
import { readCsvHeader } from './csv-rows';
import { SourceError, type SourceErrorCode } from './source-error';
import { locateFields } from './source-fields';
import { assertSourceFile, sourceFileError } from './source-file';
import { type RowSource, resolveRowSources, type SourcePart } from './source-rows';
import { openSqliteRelation } from './sqlite-rows';

/** One reason a ProfileSource cannot be read (or, as a warning, may not be), as data. */
export interface SourceProblem {
  readonly code: SourceErrorCode;
  /** `error`: a read would fail. `warning`: it may not (jsonl, judged by its first object only). */
  readonly severity: 'error' | 'warning';
  /** Which part of the spec: `profiles` or `segmentMembership`. */
  readonly part: SourcePart;
  readonly message: string;
  readonly hint?: string;
  /** Absolute path of the file or sqlite database. */
  readonly file: string;
  /** sqlite: the table or query. */
  readonly relation?: string;
  /** The field that is missing or duplicated. */
  readonly field?: string;
}

/**
 * For the reconciler: whether `spec` (declared in a manifest in `baseDir`) can be read, and has the
 * fields an export needs: the key and `requiredFields` (the destinations' mapped fields) in the
 * profiles, the key and the segment field in the segment membership. Reads only what that takes:
 * a csv header line, a jsonl file's first object, a sqlite `pragma_table_xinfo` or the compiled
 * (never run) query. Never throws for a bad source: every problem is returned, both parts checked.
 *
 * jsonl has no header, so its fields are judged by the first object: a field absent there is a
 * `warning` (later objects may have it; a read fails only if none does).
 */
export async function checkSourceReadable(
  spec: ProfileSourceSpec,
  baseDir: string,
  requiredFields: readonly string[],
): Promise<SourceProblem[]> {
  const sources = resolveRowSources(spec, baseDir);
  const wanted: Record<SourcePart, readonly string[]> = {
    profiles: unique([spec.key, ...requiredFields]),
    segmentMembership: unique([spec.key, spec.segmentField]),
  };
  const problems: SourceProblem[] = [];
  for (const part of ['profiles', 'segmentMembership'] as const) {
    for (const problem of await checkPart(sources[part], wanted[part], part)) {
      // Both parts may live in one missing database: say so once.
      if (!problems.some((known) => known.code === problem.code && known.message === problem.message))
        problems.push(problem);
    }
  }
  return problems;
}

async function checkPart(
  source: RowSource,
  fields: readonly string[],
  part: SourcePart,
): Promise<SourceProblem[]> {
  try {
    if (source.type !== 'sqlite') {
      const binary = await binaryFileError(source);
      if (binary) return [asProblem(binary, part)];
    }
    switch (source.type) {
      case 'csv': {
        const header = await readCsvHeader(
          source.file,
          source.encoding === undefined ? {} : { encoding: source.encoding },
        );
        return locateFields(header, fields, { file: source.file }).errors.map((error) =>
          asProblem(error, part),
        );
      }
      case 'jsonl': {
        const first = await readFirstJsonlObject(source.file);
        if (first === 'empty') return [];
        if (first === 'not-an-object')
          return [
            {
              code: 'source-unreadable',
              severity: 'warning',
              part,
              message: `the first line of ${source.file} is not a JSON object`,
              hint: 'a jsonl source holds one JSON object per line; is the source type right?',
              file: source.file,
            },
          ];
        return locateFields(Object.keys(first), fields, { file: source.file }).errors.map((error) =>
          asProblem(error, part, 'warning'),
        );
      }
      case 'sqlite': {
        const relation = await openSqliteRelation(source.database, source.relation);
        try {
          const origin = { file: source.database, relation: source.relation };
          return locateFields(relation.columns, fields, origin).errors.map((error) => asProblem(error, part));
        } finally {
          relation.close();
        }
      }
    }
  } catch (error) {
    if (error instanceof SourceError) return [asProblem(error, part)];
    throw error;
  }
}

/**
 * Throws a `source-unreadable` SourceError when a csv or jsonl file of `spec` is not text: a gzip
 * file, an .xlsx workbook or another binary file saved under the source's name. A run calls it
 * before its read, so the failure says what the file is instead of echoing its bytes as a header.
 * Reads the first 4 KiB of each file; a file that cannot be opened is left to the read to report.
 */
export async function assertSourceIsText(spec: ProfileSourceSpec, baseDir: string): Promise<void> {
  const sources = resolveRowSources(spec, baseDir);
  for (const source of [sources.profiles, sources.segmentMembership]) {
    if (source.type === 'sqlite') continue;
    const error = await binaryFileError(source);
    if (error) throw error;
  }
}

/** Leading bytes of files that are not text, and what to do about each. */
const binarySignatures: readonly {
  readonly kind: string;
  readonly magic: readonly number[];
  readonly hint: (text: string) => string;
}[] = [
  {
    kind: 'gzip',
    magic: [0x1f, 0x8b],
    hint: (text) =>
      `it is compressed: decompress it (gunzip) and point the ProfileSource at the ${text} file, or write the export uncompressed`,
  },
  {
    kind: 'zip',
    magic: [0x50, 0x4b, 0x03, 0x04],
    hint: (text) =>
      `an Excel .xlsx workbook or a zip archive is not ${text}: export it as ${text === 'csv' ? 'CSV (UTF-8)' : 'JSON lines'} from the spreadsheet, or unzip it`,
  },
  {
    kind: 'xls',
    magic: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    hint: (text) =>
      `an Excel .xls workbook is not ${text}: export it as ${text === 'csv' ? 'CSV (UTF-8)' : 'JSON lines'} from the spreadsheet`,
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

/** The SourceError for a csv/jsonl file that is not text, or undefined (text, or not openable). */
async function binaryFileError(
  source: Extract<RowSource, { type: 'csv' | 'jsonl' }>,
): Promise<SourceError | undefined> {
  let sample: Buffer;
  try {
    const handle = await open(source.file, 'r');
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
  const text = source.type;
  // The first line is a csv header or a jsonl object: text, whatever the rows after it hold.
  const newline = sample.indexOf(0x0a);
  const firstLine = newline === -1 ? sample : sample.subarray(0, newline);
  if (source.encoding !== 'utf-16le' && looksLikeUtf16(firstLine)) {
    return new SourceError(
      'source-unreadable',
      `${source.file} looks like UTF-16 text, not the UTF-8 ${text} it is read as`,
      {
        context: { file: source.file },
        hint: "set the ProfileSource's encoding: utf-16le, or export the file as UTF-8",
      },
    );
  }
  // Control bytes no text line holds (tab, carriage return, form feed and escape aside).
  const hasBinaryBytes =
    source.encoding !== 'utf-16le' &&
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
    `${source.file} looks like a binary file (${kind}), not ${text} text`,
    {
      context: { file: source.file },
      hint:
        signature?.kind === kind
          ? signature.hint(text)
          : `export it as ${text === 'csv' ? 'CSV' : 'JSON lines'} text, or point the ProfileSource at the right file`,
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

/** The object on the first non-blank line, reading nothing past that line. */
async function readFirstJsonlObject(file: string): Promise<object | 'empty' | 'not-an-object'> {
  await assertSourceFile(file);
  const input = createReadStream(file, { encoding: 'utf8' });
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
  }
}

function asProblem(
  error: SourceError,
  part: SourcePart,
  severity: SourceProblem['severity'] = 'error',
): SourceProblem {
  const { file, relation, field } = error.context;
  return {
    code: error.code,
    severity,
    part,
    message: error.message,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    file: typeof file === 'string' ? file : '',
    ...(typeof relation === 'string' ? { relation } : {}),
    ...(typeof field === 'string' ? { field } : {}),
  };
}

function unique(fields: readonly string[]): string[] {
  return [...new Set(fields)];
}
