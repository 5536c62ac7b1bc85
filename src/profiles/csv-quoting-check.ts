const comma = 0x2c;
const quote = 0x22;
const lf = 0x0a;
const cr = 0x0d;

/** What a csv read requires of the records it reads (see `assertRowsApart` in csv-rows). */
export interface CsvRecordShape {
  /** The header's column count: a record over several lines must have it. */
  readonly columns: number;
  /** Per column, whether a line break in it breaks the read (a needed field that is not free text). */
  readonly oneLine: readonly boolean[];
}

type RecordScan = { readonly next: number } | 'incomplete' | 'broken';

/**
 * Whether csv bytes (UTF-8), fed chunk by chunk, can be read whole by `readCsvRowBatches`: no quote
 * is left open, none is closed and followed by anything but a comma, a line end or the end, and a
 * record over several lines (a quoted field holding a line break) has `shape.columns` cells and no
 * line break in a one-line column. A quote inside an unquoted field (`O"Brien`) does not break the
 * read: as csv-parse does, the quote is read as a character and the record becomes a row issue,
 * exempt from the rule on lines. False means the read fails somewhere; it is that read that tells
 * where and why.
 *
 * Records without a quote are passed over from line break to line break (`indexOf`, no per-byte
 * work); only a record that holds a quote is walked byte by byte.
 */
export class CsvQuotingCheck {
  private carry: Buffer = Buffer.alloc(0);
  /** Where a carried record and the next chunk are put together (grown, never shrunk). */
  private joined: Buffer = Buffer.alloc(0);
  private started = false;
  private whole = true;

  constructor(private readonly shape: CsvRecordShape) {}

  /**
   * Scans a chunk; false once the bytes so far cannot be read whole (it scans no more). The chunk
   * is not kept: its bytes may be reused by the caller once this returns.
   */
  push(chunk: Buffer): boolean {
    if (!this.whole) return false;
    const data = this.carry.length === 0 ? chunk : this.join(chunk);
    this.whole = this.scan(data, false);
    return this.whole;
  }

  /** The carried bytes and `chunk`, one after the other, in `joined` (no buffer made per chunk). */
  private join(chunk: Buffer): Buffer {
    const length = this.carry.length + chunk.length;
    if (this.joined.length < length)
      this.joined = Buffer.allocUnsafe(Math.max(length, 2 * this.joined.length));
    this.carry.copy(this.joined, 0);
    chunk.copy(this.joined, this.carry.length);
    return this.joined.subarray(0, length);
  }

  /** Whether the whole input can be read whole. */
  end(): boolean {
    if (this.whole) this.whole = this.scan(this.carry, true);
    return this.whole;
  }

  private scan(data: Buffer, final: boolean): boolean {
    const length = data.length;
    let at = 0;
    if (!this.started) {
      if (length < 3 && !final) {
        this.carry = Buffer.from(data);
        return true;
      }
      this.started = true;
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) at = 3;
    }
    // The next quote, LF and CR at or after `at` (-1: none left), looked up again only once passed:
    // a file without CRs is searched for one once per chunk, not once per record.
    let nextQuote = -2;
    let nextLf = -2;
    let nextCr = -2;
    while (at < length) {
      if (nextQuote !== -1 && nextQuote < at) nextQuote = data.indexOf(quote, at);
      if (nextLf !== -1 && nextLf < at) nextLf = data.indexOf(lf, at);
      if (nextCr !== -1 && nextCr < at) nextCr = data.indexOf(cr, at);
      const lineEnd = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (lineEnd !== -1 && (nextQuote === -1 || nextQuote > lineEnd)) {
        // A record without a quote (a CRLF's LF is then a blank line: no record to judge).
        at = lineEnd + 1;
        continue;
      }
      if (lineEnd === -1 && nextQuote === -1) {
        // The rest of a record without a quote so far, which may end in the next chunk.
        if (!final) {
          this.carry = Buffer.from(data.subarray(at));
          return true;
        }
        at = length;
        break;
      }
      const scanned = this.scanRecord(data, at, final);
      if (scanned === 'broken') return false;
      if (scanned === 'incomplete') {
        // A copy: the carried bytes must not keep the whole chunk alive.
        this.carry = Buffer.from(data.subarray(at));
        return true;
      }
      at = scanned.next;
    }
    this.carry = Buffer.alloc(0);
    return true;
  }

  /** The record from `start` (one that holds a quote), byte by byte. */
  private scanRecord(data: Buffer, start: number, final: boolean): RecordScan {
    const length = data.length;
    const { columns, oneLine } = this.shape;
    let column = 0;
    let overLines = false;
    let brokenColumn = false;
    let malformed = false;
    let atFieldStart = true;
    let at = start;
    const ended = (next: number): RecordScan =>
      !malformed && overLines && (column + 1 !== columns || brokenColumn) ? 'broken' : { next };
    for (;;) {
      if (at >= length) return final ? ended(length) : 'incomplete';
      const byte = data[at];
      if (atFieldStart && byte === quote) {
        let from = at + 1;
        for (;;) {
          const close = data.indexOf(quote, from);
          if (close === -1) return final ? 'broken' : 'incomplete';
          if (hasLineBreak(data, from, close)) {
            overLines = true;
            if (oneLine[column] === true) brokenColumn = true;
          }
          if (close + 1 >= length && !final) return 'incomplete';
          if (data[close + 1] === quote) {
            from = close + 2;
            continue;
          }
          at = close + 1;
          break;
        }
        if (at < length) {
          const next = data[at];
          if (next !== comma && next !== lf && next !== cr) return 'broken';
        }
        atFieldStart = false;
        continue;
      }
      if (byte === comma) {
        column += 1;
        atFieldStart = true;
        at += 1;
        continue;
      }
      if (byte === lf || byte === cr) return ended(at + 1);
      // A quote inside an unquoted field: a character to csv-parse, and the record a row issue.
      if (byte === quote) malformed = true;
      atFieldStart = false;
      at += 1;
    }
  }
}

function hasLineBreak(data: Buffer, from: number, to: number): boolean {
  for (let index = from; index < to; index++) {
    const byte = data[index];
    if (byte === lf || byte === cr) return true;
  }
  return false;
}
