// Preloaded (`node --require bench/lib/resource-report.cjs ...`) into a measured child process:
// when the process exits, writes what it used to the file named by BENCH_RESOURCE_REPORT, as JSON.
// Everything is of this one process, all its threads included (the export worker thread too):
// getrusage(RUSAGE_SELF) through process.resourceUsage() for CPU time and peak RSS, /proc/self/io for
// bytes written, and /proc/self/stat's cutime/cstime for the CPU of child processes it waited for
// (git, say). Worker threads load this file too; only the main thread reports.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { isMainThread } = require('node:worker_threads');

const out = process.env.BENCH_RESOURCE_REPORT;
if (isMainThread && out) {
  // Not inherited by the process's own children, which would overwrite the report.
  delete process.env.BENCH_RESOURCE_REPORT;
  process.on('exit', (code) => {
    const usage = process.resourceUsage();
    const io = {};
    for (const line of readFileSync('/proc/self/io', 'utf8').trim().split('\n')) {
      const [key, value] = line.split(':');
      io[key.trim()] = Number(value);
    }
    // /proc/self/stat after the command name: field 3 (state) onwards; cutime and cstime are fields
    // 16 and 17, in clock ticks (100 a second on Linux).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const childrenSeconds = (Number(fields[13]) + Number(fields[14])) / 100;
    writeFileSync(
      out,
      JSON.stringify({
        code,
        userSeconds: usage.userCPUTime / 1e6,
        systemSeconds: usage.systemCPUTime / 1e6,
        childrenSeconds,
        peakRssBytes: usage.maxRSS * 1024,
        io,
      }),
    );
  });
}
