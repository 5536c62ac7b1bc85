import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration and e2e tests start real servers and child processes; give them room on a
    // 2-core CI machine without letting a hung test block the suite.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two test files at once even on 2 cores (vitest's default there is one): most of the suite
    // waits (on the sandbox's 4 requests/second, on child processes and servers it starts), so
    // the whole suite took 390-406 s with two against 680 s with one, every test passing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
