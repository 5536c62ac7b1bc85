import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration and e2e tests start real servers and child processes; give them room on a
    // 2-core CI machine without letting a hung test block the suite.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
