// LWC unit tests (force-app) run under @salesforce/sfdx-lwc-jest; TypeScript suites use vitest.
import sfdxLwcJest from '@salesforce/sfdx-lwc-jest/config.js';

export default {
  ...sfdxLwcJest.jestConfig,
  moduleNameMapper: {
    '^@salesforce/apex$': '<rootDir>/force-app/test/jest-mocks/apex',
    '^lightning/navigation$': '<rootDir>/force-app/test/jest-mocks/lightning/navigation',
    '^c/leadrankLabels$': '<rootDir>/force-app/test/jest-mocks/leadrankLabels',
  },
  setupFilesAfterEnv: [
    ...(sfdxLwcJest.jestConfig.setupFilesAfterEnv ?? []),
    '<rootDir>/force-app/test/jest-setup/sa11y.js',
  ],
  // Only LWC tests: the TypeScript suites (*.test.ts elsewhere) belong to vitest.
  testMatch: ['<rootDir>/force-app/**/lwc/**/__tests__/**/*.test.js'],
  modulePathIgnorePatterns: ['<rootDir>/.localdevserver'],
  testPathIgnorePatterns: ['/node_modules/'],
};
