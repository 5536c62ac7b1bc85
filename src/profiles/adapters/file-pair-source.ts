import { resolve } from 'node:path';
import { binaryFileError, type TextFormat } from '../binary-file-error';
import { fileContentFingerprint } from '../file-fingerprint';
import type { SourceAdapter } from '../source-adapter';
import type { SourceEncoding } from '../source-encoding';

/** A part of a source kept as a text file of its own (csv, jsonl). */
export interface FilePart<Type extends 'csv' | 'jsonl'> {
  readonly type: Type;
  readonly file: string;
  readonly encoding?: SourceEncoding;
}

/**
 * What every source of two text files (`profiles`, `segmentMembership`, relative to the manifest,
 * in `encoding`) does alike: its paths, the check that the files are text of `format` and not a
 * binary export, the files watch looks at, and a fingerprint of their bytes. The adapter adds how
 * its format is read (columns, rows).
 */
export function filePairSource<Type extends 'csv' | 'jsonl'>(
  type: Type,
  format: TextFormat,
): Omit<SourceAdapter<FilePart<Type>>, 'inspectColumns' | 'readRowBatches' | 'checkReadsWhole'> {
  return {
    type,

    mapPaths(spec, map) {
      return {
        ...spec,
        profiles: map(spec.profiles, 'profiles'),
        segmentMembership: map(spec.segmentMembership, 'segmentMembership'),
      };
    },

    resolve(spec, baseDir) {
      const part = (file: string): FilePart<Type> => ({
        type,
        file: resolve(baseDir, file),
        ...(spec.encoding === undefined ? {} : { encoding: spec.encoding }),
      });
      return { profiles: part(spec.profiles), segmentMembership: part(spec.segmentMembership) };
    },

    async assertReadable(part) {
      const error = await binaryFileError(part.file, part.encoding, format);
      if (error) throw error;
    },

    watchPaths: (spec) => [spec.profiles, spec.segmentMembership],

    originFile: (spec) => spec.profiles,

    fingerprint: (parts) => fileContentFingerprint([parts.profiles.file, parts.segmentMembership.file]),
  };
}
