// LWC unit tests (force-app) run under @salesforce/sfdx-lwc-jest; TypeScript suites use vitest.
import sfdxLwcJest from '@salesforce/sfdx-lwc-jest/config.js';

export default {
  ...sfdxLwcJest.jestConfig,
  modulePathIgnorePatterns: ['<rootDir>/.localdevserver'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/(org-simulator|crm-generator|scoring-sidecar|bench)/'],
};
