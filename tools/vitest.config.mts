import { defineConfig } from 'vitest/config';

// Tests of the command-line tools in tools/ (each tools/*.test.ts).
export default defineConfig({
  test: {
    name: 'tools',
    root: import.meta.dirname,
    include: ['*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
