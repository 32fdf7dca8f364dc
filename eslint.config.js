import js from '@eslint/js';
import salesforceLwcConfig from '@salesforce/eslint-config-lwc/recommended.js';
import jestPlugin from 'eslint-plugin-jest';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'var/**',
      '.venv/**',
      '.tools/**',
      'coverage/**',
      '.sfdx/**',
      '.sf/**',
      'force-app/**/staticresources/**',
      'sf-plugin/lib/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,mjs,js}'],
    ignores: ['force-app/**'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  // Type-aware rules for the TypeScript code (each file's nearest tsconfig.json, through the project service): the
  // promise mistakes the compiler lets through. (@typescript-eslint/no-unnecessary-type-assertion is to come: it
  // has 17 findings, auto-fixable, in files being restructured now.)
  {
    files: ['**/*.ts'],
    ignores: ['force-app/**'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  // Lightning Web Components: Salesforce's recommended LWC rules (babel parser for decorators).
  {
    files: ['force-app/**/lwc/**/*.js'],
    extends: [salesforceLwcConfig],
  },
  {
    files: ['force-app/**/lwc/**/__tests__/**/*.test.js'],
    extends: [salesforceLwcConfig],
    // jest.mock factories and JSON fixtures are loaded with require(), as in trailheadapps/lwc-recipes.
    rules: {
      '@lwc/lwc/no-unexpected-wire-adapter-usages': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
    languageOptions: { globals: { ...globals.node, ...jestPlugin.environments.globals.globals } },
  },
  {
    files: ['force-app/test/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { ...globals.node, ...jestPlugin.environments.globals.globals },
    },
  },
);
