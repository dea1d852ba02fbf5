import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'experiments', root: import.meta.dirname, include: ['*.test.ts'], environment: 'node' },
});
