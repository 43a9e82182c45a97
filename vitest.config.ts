import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Interop tests start real routers; give them room but never let one hang the run.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
