import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real Docker builds and containers: generous per-test budget, few workers on 2 cores.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    maxWorkers: 2,
    globalSetup: ['test/setup/global.ts'],
    reporters: ['default', './test/setup/count-reporter.ts'],
  },
});
