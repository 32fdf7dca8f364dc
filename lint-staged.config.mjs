// Checks on `git commit` (.husky/pre-commit), on the staged files only: prettier (writes, and lint-staged
// re-stages the result), eslint, and the tests related to the change — vitest's module graph for TypeScript,
// jest's for Lightning web components (as in trailheadapps/lwc-recipes). `npm test` still runs everything.
// Run one task at a time (--concurrent false in the hook): prettier rewrites the files the others read.
export default {
  '*.{ts,mts,cts}': [
    'prettier --write',
    'eslint --max-warnings=0 --no-warn-ignored',
    'vitest related --run --passWithNoTests',
  ],
  '*.{js,mjs,cjs}': ['prettier --write', 'eslint --max-warnings=0 --no-warn-ignored'],
  'force-app/**/lwc/**/*.{js,html}': 'sfdx-lwc-jest -- --findRelatedTests --passWithNoTests',
  '*.{json,css,html,yml,yaml}': 'prettier --write --ignore-unknown',
};
