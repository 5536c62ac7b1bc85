// Preloaded (`node --require`) into the CLI and its worker threads: appends a line to
// $CSV_PARSES_LOG for each file the csv parser opens (src/profiles/csv-records), so that a test can
// count how many times a run read and parsed each source file. Other opens of the same files (the
// source's content hash, the text check) are not counted.
const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

const log = process.env.CSV_PARSES_LOG;
const open = fs.createReadStream;
fs.createReadStream = function createReadStream(path, ...rest) {
  if (log && /[\\/]csv-records\.js:/.test(new Error().stack ?? ''))
    fs.appendFileSync(log, `${isMainThread ? 'main' : 'worker'} ${String(path)}\n`);
  return open.call(this, path, ...rest);
};
