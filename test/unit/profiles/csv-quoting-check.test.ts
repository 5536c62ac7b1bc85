import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvQuotingCheck } from '../../../src/profiles/csv-quoting-check';
import { checkCsvReadsWhole, readCsvRowBatches } from '../../../src/profiles/csv-rows';
import { tempFolder } from '../../support/temp-folder';

// Cells from pieces that matter to csv quoting: separators, quotes, every line end.
const piece = fc.constantFrom('a', 'Zoë', ' ', ',', '"', '""', '\n', '\r', '\r\n', '');
const cell = fc.array(piece, { maxLength: 4 }).map((pieces) => pieces.join(''));
const quotedCell = cell.map((text) => `"${text.replaceAll('"', '""')}"`);
const oneLineQuotedCell = quotedCell.map((text) => text.replace(/[\r\n]/g, ''));
const plainCell = cell.map((text) => text.replace(/[",\r\n]/g, ''));
const brokenCell = fc.constantFrom('O"Brien', '"Cy"x', '"open', 'a"', ' "b"', '"a""', '""x');
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

const csvText = fc
  .tuple(
    fc.boolean(),
    fc.array(
      fc.tuple(
        fc.array(
          fc.oneof(
            { weight: 5, arbitrary: plainCell },
            { weight: 3, arbitrary: oneLineQuotedCell },
            { weight: 1, arbitrary: quotedCell },
            { weight: 1, arbitrary: brokenCell },
          ),
          { minLength: 3, maxLength: 3 },
        ),
        lineEnd,
      ),
      { maxLength: 8 },
    ),
    fc.boolean(),
  )
  .map(([bom, rows, trailingEnd]) => {
    const text = rows
      .map(([cells, end], index) => cells.join(',') + (index < rows.length - 1 || trailingEnd ? end : ''))
      .join('');
    return `${bom ? '\uFEFF' : ''}A,B,C\n${text}`;
  });

function plainIn(bytes: Buffer, sizes: readonly number[]): boolean {
  const check = new CsvQuotingCheck();
  let at = 0;
  for (let index = 0; at < bytes.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    if (!check.push(bytes.subarray(at, at + size))) return false;
    at += size;
  }
  return check.end();
}

async function readFails(file: string): Promise<string | undefined> {
  try {
    for await (const _rows of readCsvRowBatches(file, ['A', 'B', 'C'])) {
      // read through
    }
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
}

describe('CsvQuotingCheck', () => {
  it('says the same of a file however it is cut into chunks', () => {
    fc.assert(
      fc.property(
        csvText,
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        (text, sizes) => {
          const bytes = Buffer.from(text, 'utf8');
          expect(plainIn(bytes, sizes)).toBe(plainIn(bytes, [bytes.length || 1]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never calls plain a file whose read fails part-way, and the check rejects exactly as the read does', async () => {
    const folder = tempFolder();
    let plainSeen = 0;
    let failingSeen = 0;
    await fc.assert(
      fc.asyncProperty(csvText, async (text) => {
        const file = join(folder, 'profiles.csv');
        writeFileSync(file, text);
        const bytes = Buffer.from(text, 'utf8');
        const failure = await readFails(file);
        if (plainIn(bytes, [bytes.length || 1])) {
          plainSeen++;
          expect(failure).toBeUndefined();
        }
        if (failure !== undefined) failingSeen++;
        let checked: string | undefined;
        await checkCsvReadsWhole(file, ['A', 'B', 'C']).catch((error: { code?: string }) => {
          checked = error.code ?? 'error';
        });
        expect(checked).toBe(failure);
      }),
      { numRuns: 300 },
    );
    // The property saw both kinds of file.
    expect(plainSeen).toBeGreaterThan(20);
    expect(failingSeen).toBeGreaterThan(20);
  });

  it('tells plain quoting from what only a read can judge', () => {
    const plain = (text: string) => plainIn(Buffer.from(text, 'utf8'), [text.length || 1]);
    expect(plain('a,b\n1,2\n')).toBe(true);
    expect(plain('\uFEFF"a","b, c"\r\n"1 ""x""",2')).toBe(true);
    expect(plain('a,b\n1,"2"')).toBe(true);
    // A quote never closed, text after a closing quote, a quote inside an unquoted field, a
    // quoted field over two lines.
    expect(plain('a,b\n1,"2\n')).toBe(false);
    expect(plain('a,b\n1,"2"x\n')).toBe(false);
    expect(plain('a,b\nO"Brien,2\n')).toBe(false);
    expect(plain('a,b\n"1\n2",3\n')).toBe(false);
  });
});
