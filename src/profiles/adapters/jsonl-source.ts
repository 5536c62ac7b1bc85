import { resolve } from 'node:path';
import { binaryFileError } from '../binary-file-error';
import { fileContentFingerprint } from '../file-fingerprint';
import { readFirstJsonlObject } from '../jsonl-first-object';
import { readJsonlRowBatches } from '../jsonl-rows';
import type { SourceAdapter } from '../source-adapter';
import type { SourceEncoding } from '../source-encoding';
import { SourceError } from '../source-error';

/** A jsonl part: one file of JSON objects, one per line, without a header. */
export interface JsonlPart {
  readonly type: 'jsonl';
  readonly file: string;
  readonly encoding?: SourceEncoding;
}

const format = { name: 'jsonl', spreadsheetExport: 'JSON lines', textExport: 'JSON lines' } as const;

/**
 * jsonl sources: `profiles` and `segmentMembership` are files of one JSON object per line (see
 * `readJsonlRowBatches`), relative to the manifest. No header: columns are judged by the first
 * object only.
 */
export const jsonlSource: SourceAdapter<JsonlPart> = {
  type: 'jsonl',

  mapPaths(spec, map) {
    return {
      ...spec,
      profiles: map(spec.profiles, 'profiles'),
      segmentMembership: map(spec.segmentMembership, 'segmentMembership'),
    };
  },

  resolve(spec, baseDir) {
    const part = (file: string): JsonlPart => ({
      type: 'jsonl',
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
    const origin = { file: part.file };
    const first = await readFirstJsonlObject(part.file, part.encoding);
    if (first === 'empty') return { origin, names: undefined, scope: 'first-row' };
    if (first === 'not-an-object')
      return {
        origin,
        names: undefined,
        scope: 'first-row',
        warning: new SourceError('source-unreadable', `the first line of ${part.file} is not a JSON object`, {
          context: origin,
          hint: 'a jsonl source holds one JSON object per line; is the source type right?',
        }),
      };
    return { origin, names: Object.keys(first), scope: 'first-row' };
  },

  readRowBatches(part, fields) {
    return readJsonlRowBatches(
      part.file,
      fields,
      part.encoding === undefined ? {} : { encoding: part.encoding },
    );
  },

  watchPaths: (spec) => [spec.profiles, spec.segmentMembership],

  originFile: (spec) => spec.profiles,

  fingerprint: (parts) => fileContentFingerprint([parts.profiles.file, parts.segmentMembership.file]),
};
