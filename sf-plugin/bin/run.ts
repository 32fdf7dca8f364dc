// Runs the plugin's commands without the sf host, from this repository's TypeScript source:
//   npx tsx sf-plugin/bin/run.ts leadrank org check --target-org acme
// (orgs, aliases and logins are the sf CLI's own, read by @salesforce/core from ~/.sfdx).
// The plugin's compiled commands live in lib/ (`npm run build -w sf-plugin`, what `sf plugins link sf-plugin`
// loads); development mode makes oclif map lib/ back to src/ through tsconfig.json's outDir and rootDirs.
import { execute } from '@oclif/core';

process.env.NODE_ENV ??= 'development';
await execute({ dir: import.meta.url });
