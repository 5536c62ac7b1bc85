const comma = 0x2c;
const quote = 0x22;
const lf = 0x0a;
const cr = 0x0d;

/**
 * The columns a reader of records needs, set once it knows them (from the header): a cell of
 * another column is not decoded and reads as '' (unless it is quoted, or the record's only cell:
 * what tells a blank line). Unset: every cell is decoded.
 */
export interface CsvColumns {
  /** 1 at each column's index that is needed; a column past its end is not. */
  wanted?: Uint8Array | undefined;
}

/** A record the scanner read: its cells and the physical line it starts on (1-based). */
export interface ScannedRecord {
  readonly values: string[];
  readonly line: number;
}

/** What one `push` or `end` found. */
export interface ScanResult {
  readonly records: ScannedRecord[];
  /**
   * Set when a record is not well-formed RFC 4180 (a quote inside an unquoted cell, text after a
   * closing quote, a quote never closed): the bytes from that record's start on, not scanned, and
   * the line it starts on. The scanner reads nothing after it.
   */
  readonly malformed?: { readonly rest: Buffer; readonly line: number };
}

/**
 * What `scanRecord` found: a record's cells (where it ends and the lines it spans are left in
 * `scanned`, one object for every record instead of one each), or that the record is incomplete or
 * malformed.
 */
type RecordScan = string[] | typeof incomplete | typeof malformed;

const incomplete = 1;
const malformed = 2;

/** The end of the record `scanRecord` last returned, and the line breaks it spans. */
const scanned = { next: 0, lines: 0 };

/**
 * A scanned record, made by a constructor: an object literal per row is an allocation site V8 may
 * decide, from a few hundred early rows still alive at one collection, to allocate in the old
 * generation for the rest of the process (see `MappedContact` in map-contact.ts).
 */
class Scanned implements ScannedRecord {
  constructor(
    readonly values: string[],
    readonly line: number,
  ) {}
}

/**
 * A fast reader of well-formed csv, fed chunk by chunk: the same records, cells and lines as
 * `csvParseOptions` gives with csv-parse (RFC 4180 quoting with `""`, line breaks inside quotes, a
 * leading UTF-8 BOM dropped, `\r\n`, `\n` or `\r` ending records, mixed too; a blank line is one
 * empty cell; column counts not checked), at a fraction of the time and garbage: a loop over bytes
 * and one string per cell. It does not recover from malformed quoting: at the first malformed
 * record it stops and hands back the bytes from there, for csv-parse to read (its recovery is the
 * contract; at a record boundary it has no state, so going on from there is what csv-parse alone
 * would do).
 */
export class CsvScanner {
  private carry: Buffer = Buffer.alloc(0);
  /** Where a carried record and the next chunk are put together (grown, never shrunk). */
  private joined: Buffer = Buffer.alloc(0);
  private line = 1;
  private started = false;
  private stopped = false;

  /** `columns`: which cells to decode (see `CsvColumns`); every one when absent. */
  constructor(private readonly columns: CsvColumns = {}) {}

  /**
   * Scans a chunk; records that end in a later chunk wait for it. The chunk is not kept (what waits
   * is copied, and so is a malformed result's `rest`): the caller may reuse its bytes.
   */
  push(chunk: Buffer): ScanResult {
    return this.scan(this.carry.length === 0 ? chunk : this.join(chunk), false);
  }

  /**
   * The carried bytes and `chunk` in `joined`: nearly every chunk ends inside a record, and a new
   * buffer for each (Buffer.concat) was as many bytes again as the file outside the heap.
   */
  private join(chunk: Buffer): Buffer {
    const length = this.carry.length + chunk.length;
    if (this.joined.length < length)
      this.joined = Buffer.allocUnsafe(Math.max(length, 2 * this.joined.length));
    this.carry.copy(this.joined, 0);
    chunk.copy(this.joined, this.carry.length);
    return this.joined.subarray(0, length);
  }

  /** Scans what is left at the end of the input. */
  end(): ScanResult {
    return this.scan(this.carry, true);
  }

  private scan(data: Buffer, final: boolean): ScanResult {
    if (this.stopped) return { records: [] };
    let position = 0;
    if (!this.started) {
      if (data.length < 3 && !final) {
        this.carry = Buffer.from(data);
        return { records: [] };
      }
      this.started = true;
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) position = 3;
    }
    const records: ScannedRecord[] = [];
    while (position < data.length) {
      const values = scanRecord(data, position, final, this.columns.wanted);
      if (values === incomplete) break;
      if (values === malformed) {
        this.stopped = true;
        this.carry = Buffer.alloc(0);
        return { records, malformed: { rest: Buffer.from(data.subarray(position)), line: this.line } };
      }
      records.push(new Scanned(values, this.line));
      this.line += scanned.lines;
      position = scanned.next;
    }
    // A copy: the carried bytes must not keep the whole chunk alive.
    this.carry = position === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(position));
    return { records };
  }
}

/**
 * One record from `start`; `lines` counts the line breaks it spans, its own end included. With
 * `wanted`, an unquoted cell of a column not wanted reads as '', unless it is the record's only one.
 */
function scanRecord(data: Buffer, start: number, final: boolean, wanted: Uint8Array | undefined): RecordScan {
  const length = data.length;
  const values: string[] = [];
  let lines = 0;
  let at = start;
  // The first cell's end when it was not decoded: decoded after all if it is the only one.
  let firstSkipped = -1;
  for (;;) {
    let end: number;
    if (at < length && data[at] === quote) {
      let value = '';
      let from = at + 1;
      for (;;) {
        const close = data.indexOf(quote, from);
        if (close === -1) return final ? malformed : incomplete;
        if (close + 1 >= length && !final) return incomplete;
        if (data[close + 1] === quote) {
          value += data.toString('utf8', from, close + 1);
          from = close + 2;
          continue;
        }
        value += data.toString('utf8', from, close);
        lines += lineBreaks(data, at + 1, close);
        end = close + 1;
        break;
      }
      values.push(value);
      if (end < length) {
        const next = data[end];
        if (next !== comma && next !== lf && next !== cr) return malformed;
      }
    } else {
      end = at;
      while (end < length) {
        const byte = data[end];
        if (byte === comma || byte === lf || byte === cr) break;
        if (byte === quote) return malformed;
        end += 1;
      }
      if (end === length && !final) return incomplete;
      const column = values.length;
      if (wanted === undefined || wanted[column] === 1) values.push(data.toString('utf8', at, end));
      else {
        if (column === 0) firstSkipped = end;
        values.push('');
      }
    }
    // A record of one cell that was not decoded: a blank line only when it is empty.
    if (firstSkipped !== -1 && values.length === 1 && data[end] !== comma)
      values[0] = data.toString('utf8', start, firstSkipped);
    if (end === length) return found(values, end, lines);
    if (data[end] === comma) {
      at = end + 1;
      continue;
    }
    if (data[end] === cr) {
      if (end + 1 >= length && !final) return incomplete;
      return found(values, data[end + 1] === lf ? end + 2 : end + 1, lines + 1);
    }
    return found(values, end + 1, lines + 1);
  }
}

/** `values`, the record that ends before `next` and spans `lines` line breaks (see `scanned`). */
function found(values: string[], next: number, lines: number): string[] {
  scanned.next = next;
  scanned.lines = lines;
  return values;
}

/** Physical line breaks in `data[from, to)`: each `\n`, and each `\r` not followed by `\n`. */
function lineBreaks(data: Buffer, from: number, to: number): number {
  let breaks = 0;
  for (let index = from; index < to; index++) {
    const byte = data[index];
    if (byte === lf || (byte === cr && data[index + 1] !== lf)) breaks += 1;
  }
  return breaks;
}
