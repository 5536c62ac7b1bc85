import fc from 'fast-check';

// Cells from pieces that matter to csv: separators, quotes, every line end, multi-byte characters.
const piece = fc.constantFrom('a', 'Zoë', '😀', '美咲', ' ', ',', '"', '""', '\n', '\r', '\r\n', 'x y', '');
const cell = fc.array(piece, { maxLength: 4 }).map((pieces) => pieces.join(''));
const quotedCell = cell.map((text) => `"${text.replaceAll('"', '""')}"`);
const oneLineQuotedCell = quotedCell.map((text) => text.replace(/[\r\n]/g, ''));
const plainCell = cell.map((text) => text.replace(/[",\r\n]/g, ''));
// Now and then a broken cell: a stray quote, text after a closing quote, or a quote never closed.
const brokenCell = fc.constantFrom('O"Brien', '"Cy"x', '"open', 'a"', ' "b"', '"a""', '""x');
const lineEnd = fc.constantFrom('\n', '\r\n', '\r');

/**
 * csv text for property tests: up to 8 records of plain, quoted (over lines or not) and now and then
 * broken cells, any line end, a BOM or not, a final line end or not; `header` (e.g. `A,B,C\n`)
 * first, after the BOM. `cells` bounds the cells per record.
 */
export function csvTextArbitrary(
  options: { readonly cells?: { readonly min: number; readonly max: number }; readonly header?: string } = {},
): fc.Arbitrary<string> {
  const { min, max } = options.cells ?? { min: 1, max: 4 };
  return fc
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
            { minLength: min, maxLength: max },
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
      return `${bom ? '\uFEFF' : ''}${options.header ?? ''}${text}`;
    });
}
