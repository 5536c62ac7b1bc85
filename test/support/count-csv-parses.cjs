// Preloaded (`node --require`) into the CLI and its worker threads: appends a line to
// $CSV_PARSES_LOG for each file the csv parser opens (src/profiles/csv-records, which reads through
// `reusedFileChunks`: fs/promises `open`), so that a test can count how many times a run read and
// parsed each source file. Other opens of the same files (the source's content hash, the check
// that it reads whole, the text check) are not counted.
const fs = require('node:fs');
const promises = require('node:fs/promises');
const { isMainThread } = require('node:worker_threads');

const log = process.env.CSV_PARSES_LOG;
const open = promises.open;
promises.open = function countedOpen(path, ...rest) {
  if (log && /[\\/]csv-records\.js:/.test(new Error().stack ?? ''))
    fs.appendFileSync(log, `${isMainThread ? 'main' : 'worker'} ${String(path)}\n`);
  return open.call(this, path, ...rest);
};
