const comma = 0x2c;
const quote = 0x22;
const lf = 0x0a;
const cr = 0x0d;

const fieldStart = 0;
const unquoted = 1;
const quoted = 2;
const closing = 3;

/**
 * Whether csv bytes (UTF-8), fed chunk by chunk, are plainly quoted: every quote opens a field at
 * its start or doubles a quote inside it, every quoted field is closed on its own line and followed
 * by a comma, a line end or the end of the file. A file so quoted cannot fail a read for its quoting
 * (`readCsvRowBatches`): a quote never closed, text after a closing quote and a record over several
 * lines all need a quote that is not plain. Not plain is not broken (a quoted name over two lines, a
 * quote inside an unquoted field are read, as a row or as a row issue): only a read tells.
 *
 * Jumps from quote to quote (`indexOf`): a file without quotes costs a memchr of it.
 */
export class CsvQuotingCheck {
  private state = fieldStart;
  private started = false;
  private plain = true;

  /** Scans a chunk; false once the bytes so far are not plainly quoted (then it scans no more). */
  push(chunk: Buffer): boolean {
    if (!this.plain || chunk.length === 0) return this.plain;
    let at = 0;
    if (!this.started) {
      this.started = true;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) at = 3;
    }
    this.plain = this.scan(chunk, at);
    return this.plain;
  }

  /** Whether the whole input was plainly quoted (no quoted field left open at its end). */
  end(): boolean {
    return this.plain && this.state !== quoted;
  }

  private scan(chunk: Buffer, from: number): boolean {
    const length = chunk.length;
    let state = this.state;
    let at = from;
    // The next LF and CR at or after `at` (-1: none left in the chunk), looked up again only once
    // passed: a file without CRs is searched for one once per chunk, not once per quoted field.
    let nextLf = -2;
    let nextCr = -2;
    while (at < length) {
      if (state === fieldStart || state === unquoted) {
        const open = chunk.indexOf(quote, at);
        if (open === -1) {
          if (at < length) state = isDelimiter(chunk[length - 1]) ? fieldStart : unquoted;
          break;
        }
        const atFieldStart = open === at ? state === fieldStart : isDelimiter(chunk[open - 1]);
        if (!atFieldStart) return false;
        state = quoted;
        at = open + 1;
        continue;
      }
      if (state === quoted) {
        const close = chunk.indexOf(quote, at);
        if (nextLf !== -1 && nextLf < at) nextLf = chunk.indexOf(lf, at);
        if (nextCr !== -1 && nextCr < at) nextCr = chunk.indexOf(cr, at);
        const end = close === -1 ? length : close;
        if ((nextLf !== -1 && nextLf < end) || (nextCr !== -1 && nextCr < end)) return false;
        if (close === -1) break;
        state = closing;
        at = close + 1;
        continue;
      }
      // closing: the byte after a quote inside a quoted field.
      const byte = chunk[at];
      if (byte === quote) state = quoted;
      else if (isDelimiter(byte)) state = fieldStart;
      else return false;
      at += 1;
    }
    this.state = state;
    return true;
  }
}

function isDelimiter(byte: number | undefined): boolean {
  return byte === comma || byte === lf || byte === cr;
}
