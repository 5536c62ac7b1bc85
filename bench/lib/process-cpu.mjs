// CPU time of a live process from /proc/PID/stat: user + system of all its threads, plus what the
// children it has waited for used (cutime + cstime), in seconds. 0 once it is gone.
import { readFileSync } from 'node:fs';

/** Clock ticks a second (USER_HZ): 100 on Linux. */
const ticks = 100;

export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name: field 3 (state) on; utime, stime, cutime, cstime are fields 14-17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks;
  } catch {
    return 0;
  }
}
