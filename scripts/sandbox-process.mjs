// `exportctl sandbox --port 0 --output json` as a child process, for the demo and the benchmarks:
// the sandbox runs in its own process, as a user runs it, on a free loopback port.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Starts the sandbox from the build in `root` and resolves, once it printed its JSON line, with
 * that line (`url`, `apiUrl`, `tokenUrl`, ...) and `stop()`, which sends SIGTERM and waits for exit.
 */
export function startSandboxProcess(root) {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'exportctl.js'), 'sandbox', '--port', '0', '--output', 'json'],
    { cwd: root, env: { PATH: process.env.PATH, HOME: root }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      resolve({
        ...JSON.parse(stdout.split('\n')[0]),
        stop: () =>
          new Promise((done) => {
            child.once('exit', done);
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`exportctl sandbox exited with ${code}`)));
  });
}
