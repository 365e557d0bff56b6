import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One temporary directory a run, removed at its end (see temp-root.ts).
    globalSetup: ['test/helpers/temp-root.ts'],
    // Each GPU test file holds one Dawn device, whose polling thread takes about a core; on the
    // 2-core machines we test on, two files at once starve each other's shader compiles.
    // Separate processes (forks) also keep a native crash in one file from taking down the others.
    pool: 'forks',
    fileParallelism: false,
    // A cold shader compile on lavapipe takes up to a second per kernel.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
