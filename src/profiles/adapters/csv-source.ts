import { checkCsvReadsWhole, readCsvHeader, readCsvRowBatches } from '../csv-rows';
import type { SourceAdapter } from '../source-adapter';
import { type FilePart, filePairSource } from './file-pair-source';

/** A csv part: one file, read with its header line. */
export type CsvPart = FilePart<'csv'>;

const format = { name: 'csv', spreadsheetExport: 'CSV (UTF-8)', textExport: 'CSV' } as const;

/**
 * csv sources: `profiles` and `segmentMembership` are files (RFC 4180, a header line; see
 * `readCsvRowBatches`), relative to the manifest, in `encoding` (UTF-8 by default).
 */
export const csvSource: SourceAdapter<CsvPart> = {
  ...filePairSource('csv', format),

  async inspectColumns(part) {
    const names = await readCsvHeader(
      part.file,
      part.encoding === undefined ? {} : { encoding: part.encoding },
    );
    return { origin: { file: part.file }, names, scope: 'every-row' };
  },

  readRowBatches(part, fields, options) {
    return readCsvRowBatches(part.file, fields, {
      ...(part.encoding === undefined ? {} : { encoding: part.encoding }),
      ...options,
    });
  },

  checkReadsWhole(part, fields, options) {
    return checkCsvReadsWhole(part.file, fields, {
      ...(part.encoding === undefined ? {} : { encoding: part.encoding }),
      ...options,
    });
  },
};
