import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvQuotingCheck } from '../../../src/profiles/csv-quoting-check';
import { checkCsvReadsWhole, readCsvRowBatches } from '../../../src/profiles/csv-rows';
import { checkJsonlReadsWhole } from '../../../src/profiles/jsonl-rows';
import { csvTextArbitrary } from '../../support/csv-text-arbitrary';
import { tempFolder } from '../../support/temp-folder';

const csvText = csvTextArbitrary({ cells: { min: 3, max: 3 }, header: 'A,B,C\n' });
const allOneLine = { columns: 3, oneLine: [true, true, true] };

/**
 * The check of `bytes` pushed in chunks of `sizes` (in turn); with `reused`, each chunk is copied
 * into one buffer that is overwritten with quotes once pushed, as a reader reusing its buffer does.
 */
function wholeIn(bytes: Buffer, sizes: readonly number[], shape = allOneLine, reused = false): boolean {
  const check = new CsvQuotingCheck(shape);
  const buffer = Buffer.alloc(Math.max(...sizes, 1));
  let at = 0;
  for (let index = 0; at < bytes.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    const part = bytes.subarray(at, at + size);
    let chunk = part;
    if (reused) {
      part.copy(buffer);
      chunk = buffer.subarray(0, part.length);
    }
    if (!check.push(chunk)) return false;
    buffer.fill(0x22);
    at += size;
  }
  return check.end();
}

async function readFails(file: string, multiLineFields: readonly string[]): Promise<string | undefined> {
  try {
    for await (const _rows of readCsvRowBatches(file, ['A', 'B', 'C'], { multiLineFields })) {
      // read through
    }
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
}

const multiLine = fc.subarray(['A', 'B', 'C']);

describe('CsvQuotingCheck', () => {
  it('says the same of a file however it is cut into chunks', () => {
    fc.assert(
      fc.property(
        csvText,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        (text, sizes) => {
          const bytes = Buffer.from(text, 'utf8');
          expect(wholeIn(bytes, sizes)).toBe(wholeIn(bytes, [bytes.length || 1]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps nothing of a chunk: fed through one buffer overwritten after each push, it says the same', () => {
    fc.assert(
      fc.property(
        csvText,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        (text, sizes) => {
          const bytes = Buffer.from(text, 'utf8');
          expect(wholeIn(bytes, sizes, allOneLine, true)).toBe(wholeIn(bytes, [bytes.length || 1]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('says a file reads whole exactly when the read does not fail, and the check rejects as the read does', async () => {
    const folder = tempFolder();
    let whole = 0;
    let failing = 0;
    await fc.assert(
      fc.asyncProperty(csvText, multiLine, async (text, multiLineFields) => {
        const file = join(folder, 'profiles.csv');
        writeFileSync(file, text);
        const bytes = Buffer.from(text, 'utf8');
        const failure = await readFails(file, multiLineFields);
        const oneLine = ['A', 'B', 'C'].map((field) => !multiLineFields.includes(field));
        expect(wholeIn(bytes, [bytes.length || 1], { columns: 3, oneLine })).toBe(failure === undefined);
        if (failure === undefined) whole++;
        else failing++;
        let checked: string | undefined;
        await checkCsvReadsWhole(file, ['A', 'B', 'C'], { multiLineFields }).catch(
          (error: { code?: string }) => {
            checked = error.code ?? 'error';
          },
        );
        expect(checked).toBe(failure);
      }),
      { numRuns: 400 },
    );
    // The property saw both kinds of file.
    expect(whole).toBeGreaterThan(40);
    expect(failing).toBeGreaterThan(40);
  });

  it('tells quoting that reads whole from quoting that breaks the read', () => {
    const whole = (text: string, shape = allOneLine) =>
      wholeIn(Buffer.from(text, 'utf8'), [text.length || 1], shape);
    const nameOverLines = { columns: 3, oneLine: [false, true, true] };
    expect(whole('a,b,c\n1,2,3\n')).toBe(true);
    expect(whole('\uFEFF"a","b, c",c\r\n"1 ""x""",2,3')).toBe(true);
    // A quote inside an unquoted field is a row issue, not a broken read.
    expect(whole('a,b,c\nO"Brien,2,3\n')).toBe(true);
    // A quote never closed, text after a closing quote.
    expect(whole('a,b,c\n1,"2,3\n')).toBe(false);
    expect(whole('a,b,c\n1,"2"x,3\n')).toBe(false);
    // A field over two lines: whole only in a column that may hold line breaks, with every column.
    expect(whole('a,b,c\n"1\n2",3,4\n')).toBe(false);
    expect(whole('a,b,c\n"1\n2",3,4\n', nameOverLines)).toBe(true);
    expect(whole('a,b,c\n"1\n2",3\n', nameOverLines)).toBe(false);
  });

  it('finds the header in its own bytes: blank lines before it, a field it lacks, an empty file', async () => {
    const folder = tempFolder();
    const file = join(folder, 'profiles.csv');
    writeFileSync(file, '\n\r\nA,B,C\n1,"x\ny",3\n');
    await expect(checkCsvReadsWhole(file, ['A', 'B', 'C'], { multiLineFields: ['B'] })).resolves.toBe(true);
    await expect(checkCsvReadsWhole(file, ['A', 'D'])).rejects.toMatchObject({
      code: 'source-field-missing',
    });
    // Nothing to judge: the read itself fails before its first row.
    writeFileSync(file, '');
    await expect(checkCsvReadsWhole(file, ['A'])).resolves.toBe(true);
    writeFileSync(file, 'A,B,C');
    await expect(checkCsvReadsWhole(file, ['A'])).resolves.toBe(true);
  });

  it('stops when its read is over: a stopped check resolves false, reading no more', async () => {
    const file = join(tempFolder(), 'profiles.csv');
    writeFileSync(file, 'A,B,C\n1,"2,3\n');
    await expect(checkCsvReadsWhole(file, ['A', 'B', 'C'])).rejects.toMatchObject({
      code: 'source-unterminated-quote',
    });
    await expect(checkCsvReadsWhole(file, ['A', 'B', 'C'], { signal: AbortSignal.abort() })).resolves.toBe(
      false,
    );
    const jsonl = join(tempFolder(), 'profiles.jsonl');
    writeFileSync(jsonl, '{"A":"1"}\n');
    await expect(checkJsonlReadsWhole(jsonl, ['A', 'B'])).rejects.toMatchObject({
      code: 'source-field-missing',
    });
    await expect(checkJsonlReadsWhole(jsonl, ['A', 'B'], { signal: AbortSignal.abort() })).resolves.toBe(
      false,
    );
  });
});
