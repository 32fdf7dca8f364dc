#!/usr/bin/env node
// Standalone entry for the batch commands (worker processes, the bench and tests spawn it):
//   npx tsx scoring-sidecar/src/commands/batch-main.ts batch worker --region EU
import { Command } from 'commander';
import { pino } from 'pino';
import { registerBatchCommands } from './batch.js';

const program = new Command('leadrank');
registerBatchCommands(program);
program.parseAsync(process.argv).catch((error: Error) => {
  pino({ name: 'leadrank-batch' }).error({ err: error.message }, 'leadrank batch failed');
  process.exit(1);
});
