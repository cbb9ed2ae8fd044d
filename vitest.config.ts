import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real peers (FreeRADIUS, Chromium) are started per file; two cores do not gain from more parallel files.
    maxWorkers: 2,
    // The JSON copy lets .ci/run print a plain "N passed, N failed" line that CI can read.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]],
  },
});
