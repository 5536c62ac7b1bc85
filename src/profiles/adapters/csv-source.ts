import { resolve } from 'node:path';
import { binaryFileError } from '../binary-file-error';
import { readCsvHeader, readCsvRowBatches } from '../csv-rows';
import { fileContentFingerprint } from '../file-fingerprint';
import type { SourceAdapter } from '../source-adapter';
import type { SourceEncoding } from '../source-encoding';

/** A csv part: one file, read with its header line. */
export interface CsvPart {
  readonly type: 'csv';
  readonly file: string;
  readonly encoding?: SourceEncoding;
}

const format = { name: 'csv', spreadsheetExport: 'CSV (UTF-8)', textExport: 'CSV' } as const;

/**
 * csv sources: `profiles` and `segmentMembership` are files (RFC 4180, a header line; see
 * `readCsvRowBatches`), relative to the manifest, in `encoding` (UTF-8 by default).
 */
export const csvSource: SourceAdapter<CsvPart> = {
  type: 'csv',

  mapPaths(spec, map) {
    return {
      ...spec,
      profiles: map(spec.profiles, 'profiles'),
      segmentMembership: map(spec.segmentMembership, 'segmentMembership'),
    };
  },

  resolve(spec, baseDir) {
    const part = (file: string): CsvPart => ({
      type: 'csv',
      file: resolve(baseDir, file),
      ...(spec.encoding === undefined ? {} : { encoding: spec.encoding }),
    });
    return { profiles: part(spec.profiles), segmentMembership: part(spec.segmentMembership) };
  },

  async assertReadable(part) {
    const error = await binaryFileError(part.file, part.encoding, format);
    if (error) throw error;
  },

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

  watchPaths: (spec) => [spec.profiles, spec.segmentMembership],

  originFile: (spec) => spec.profiles,

  fingerprint: (parts) => fileContentFingerprint([parts.profiles.file, parts.segmentMembership.file]),
};
