import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites own redis-server, SMTP servers and Chromium; two cores
    // cannot run many of them at once without timing noise.
    maxWorkers: 2,
  },
});
