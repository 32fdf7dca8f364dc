// Runs the plugin's commands without the sf host, from this repository:
//   npx tsx sf-plugin/bin/run.ts leadrank org check --target-org acme
// (orgs, aliases and logins are the sf CLI's own, read by @salesforce/core from ~/.sfdx).
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
