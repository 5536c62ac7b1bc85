#!/usr/bin/env node
'use strict';
// The CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
try {
  require('../dist/src/cli/main.js').main(process.argv);
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('exportctl: the CLI is not built yet; run `npm run build` (or `npm ci`) first.\n');
    process.exit(1);
  }
  throw error;
}
