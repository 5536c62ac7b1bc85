import { readCsvRecordBatches } from './csv-records';
import { assertSourceFile } from './source-file';

/**
 * For benchmarks: streams `file` through exactly the parser and options `readCsvRows` uses and only
 * counts, so that "parse" and "read, select and map" can be compared. Returns the records after the
 * first (the header), skipped records and blank lines included. Rejects like `readCsvRows` when the
 * file cannot be read.
 */
export async function countCsvRecords(file: string): Promise<number> {
  await assertSourceFile(file);
  let records = 0;
  for await (const batch of readCsvRecordBatches(file)) records += batch.length;
  return Math.max(0, records - 1);
}
