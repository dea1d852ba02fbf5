import { defineConfig } from 'vitest/config';

// `npm test` runs every project's tests in one vitest process; `nx run <project>:test` runs one project.
export default defineConfig({
  test: {
    projects: ['{libs,apps}/*/vitest.config.mts', '{tools,experiments,configs}/vitest.config.mts'],
  },
});
