import { readFirstJsonlObject } from '../jsonl-first-object';
import { checkJsonlReadsWhole, readJsonlRowBatches } from '../jsonl-rows';
import type { SourceAdapter } from '../source-adapter';
import { SourceError } from '../source-error';
import { type FilePart, filePairSource } from './file-pair-source';

/** A jsonl part: one file of JSON objects, one per line, without a header. */
export type JsonlPart = FilePart<'jsonl'>;

const format = { name: 'jsonl', spreadsheetExport: 'JSON lines', textExport: 'JSON lines' } as const;

/**
 * jsonl sources: `profiles` and `segmentMembership` are files of one JSON object per line (see
 * `readJsonlRowBatches`), relative to the manifest. No header: columns are judged by the first
 * object only.
 */
export const jsonlSource: SourceAdapter<JsonlPart> = {
  ...filePairSource('jsonl', format),

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

  checkReadsWhole(part, fields, options) {
    return checkJsonlReadsWhole(part.file, fields, {
      ...(part.encoding === undefined ? {} : { encoding: part.encoding }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  },
};
