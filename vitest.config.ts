import { defineConfig } from 'vitest/config';

// TypeScript suites only; LWC tests under force-app run in jest (sfdx-lwc-jest).
export default defineConfig({
  test: {
    include: ['{org-simulator,crm-generator,scoring-sidecar,scripts,preview}/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
