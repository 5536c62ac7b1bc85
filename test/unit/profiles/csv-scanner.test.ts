import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CsvRecord, csvParseRecordBatches, csvRecordBatches } from '../../../src/profiles/csv-records';
import { csvTextArbitrary } from '../../support/csv-text-arbitrary';

const flat = (record: CsvRecord) =>
  record.error === undefined
    ? { line: record.line, values: record.values }
    : { line: record.line, error: record.error.code };

async function collect(batches: AsyncIterable<CsvRecord[]>) {
  const records = [];
  for await (const batch of batches) for (const record of batch) records.push(flat(record));
  return records;
}

async function* chunked(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let index = 0; at < bytes.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

/** `chunked` through one buffer, as `reusedFileChunks` reads: overwritten once the next is asked for. */
async function* reusedChunks(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  const buffer = Buffer.alloc(Math.max(...sizes, 1));
  for await (const chunk of chunked(bytes, sizes)) {
    chunk.copy(buffer);
    yield buffer.subarray(0, chunk.length);
    buffer.fill(0x22);
  }
}

const csvText = csvTextArbitrary();

describe('csvRecordBatches: the fast scanner, csv-parse from the first malformed record on', () => {
  it('reads exactly what csv-parse alone reads: cells, lines, skipped records (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvText,
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        async (text, sizes) => {
          const bytes = Buffer.from(text, 'utf8');
          const expected = await collect(csvParseRecordBatches(Readable.from([bytes])));
          expect(await collect(csvRecordBatches(chunked(bytes, sizes)))).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keeps nothing of a chunk: read through one buffer overwritten after each, the same records (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvText,
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        async (text, sizes) => {
          const bytes = Buffer.from(text, 'utf8');
          const expected = await collect(csvParseRecordBatches(Readable.from([bytes])));
          expect(await collect(csvRecordBatches(reusedChunks(bytes, sizes)))).toEqual(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('decodes only the wanted columns: the same records, cells, lines and blank lines (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        csvText,
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 0, maxLength: 6 }),
        async (text, sizes, mask) => {
          const bytes = Buffer.from(text, 'utf8');
          const wanted = Uint8Array.from(mask, (bit) => (bit ? 1 : 0));
          const all = await collect(csvRecordBatches(chunked(bytes, sizes)));
          const some = await collect(csvRecordBatches(chunked(bytes, sizes), { wanted }));
          expect(some.length).toBe(all.length);
          some.forEach((record, at) => {
            const full = all[at] as (typeof all)[number];
            expect(record.line).toBe(full.line);
            if (full.values === undefined || record.values === undefined) {
              expect(record).toEqual(full);
              return;
            }
            expect(record.values.length).toBe(full.values.length);
            // A blank line reads as one: the only cell is decoded whatever the columns.
            if (full.values.length === 1) expect(record.values).toEqual(full.values);
            record.values.forEach((value, column) => {
              if (wanted[column] === 1) expect(value).toBe(full.values?.[column]);
              else expect(value === '' || value === full.values?.[column]).toBe(true);
            });
          });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reads quoted line breaks, doubled quotes and a BOM, counting physical lines', async () => {
    const bytes = Buffer.from('\uFEFFId,Name\r\n1,"two\r\nlines"\n2,"say ""hi"""\r3,\n\n4,Zoë', 'utf8');
    expect(await collect(csvRecordBatches(chunked(bytes, [5])))).toEqual([
      { line: 1, values: ['Id', 'Name'] },
      { line: 2, values: ['1', 'two\r\nlines'] },
      { line: 4, values: ['2', 'say "hi"'] },
      { line: 5, values: ['3', ''] },
      { line: 6, values: [''] },
      { line: 7, values: ['4', 'Zoë'] },
    ]);
  });
});
