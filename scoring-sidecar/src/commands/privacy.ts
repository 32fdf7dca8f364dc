// `leadrank privacy erase --id <leadId> [--region US|EU] [--reason …]`: erases a lead from everything this
// deployment keeps (privacy/, docs/audit.md "Erasure") and prints the receipt; `leadrank privacy receipt <id>`
// prints a receipt. The stores are those of the environment (privacy/from-env.ts lists the variables).
import type { Command } from 'commander';
import {
  ERASURE_REASONS,
  eraseLead,
  erasureFromEnv,
  erasureRequestSchema,
  receiptStoreFromEnv,
  RegionMismatchError,
  type ErasureReceipt,
} from '../privacy/index.js';

function receiptText(r: ErasureReceipt): string {
  const lines = [
    `receipt ${r.id} (${r.status}), region ${r.region}, reason ${r.reason}, requested ${r.requestedAt}` +
      (r.completedAt ? `, completed ${r.completedAt}` : ''),
  ];
  for (const s of r.steps)
    lines.push(
      `  ${s.error ? 'FAILED' : 'ok    '} ${s.store} @ ${s.where}: ${s.error ?? `${s.removed ?? '?'} removed`}`,
    );
  return lines.join('\n');
}

export function registerPrivacyCommands(program: Command): void {
  const privacy = program
    .command('privacy')
    .description('erasure of a lead from every store, and its receipts');
  privacy
    .command('erase')
    .description('erase a lead from every store of this deployment and print the receipt (idempotent)')
    .requiredOption('--id <leadId>', 'the Salesforce Lead Id (15 or 18 characters)')
    .option('--region <region>', "the lead's region (must be this deployment's; env REGION)")
    .option('--reason <reason>', `one of ${ERASURE_REASONS.join(', ')}`, 'subject-request')
    .option('--json', 'print the receipt as JSON')
    .action(async (opts: { id: string; region?: string; reason: string; json?: boolean }) => {
      const parsed = erasureRequestSchema.safeParse({
        id: opts.id,
        ...(opts.region ? { region: opts.region } : {}),
        reason: opts.reason,
      });
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const option = { id: '--id', region: '--region', reason: '--reason' }[String(issue.path[0])] ?? '';
        console.error(`${option}: ${issue.message}`);
        process.exitCode = 2;
        return;
      }
      const region = (process.env.REGION ?? 'US') === 'EU' ? 'EU' : 'US';
      const setup = await erasureFromEnv(process.env, region);
      try {
        const outcome = await eraseLead(parsed.data, { region, ...setup });
        if (outcome.kind === 'unknown') {
          console.log(`no store of the ${region} deployment holds lead ${parsed.data.id}: nothing erased`);
          return;
        }
        if (opts.json) console.log(JSON.stringify(outcome.receipt, null, 2));
        else {
          if (outcome.kind === 'already-erased') console.log('already erased: nothing ran again');
          console.log(receiptText(outcome.receipt));
        }
        if (outcome.kind === 'incomplete') {
          console.error('some stores failed: run the same command again once they are back');
          process.exitCode = 1;
        }
      } catch (error) {
        if (!(error instanceof RegionMismatchError)) throw error;
        console.error(`--region: ${error.message}`);
        process.exitCode = 2;
      } finally {
        await setup.close();
      }
    });
  privacy
    .command('receipt <id>')
    .description('print an erasure receipt')
    .option('--json', 'as JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      if (!/^er_[0-9a-f]{24}$/.test(id)) {
        console.error(`receipt id ${id.slice(0, 40)}: must be er_ and 24 hex digits`);
        process.exitCode = 2;
        return;
      }
      const receipt = await receiptStoreFromEnv(process.env).get(id);
      if (!receipt) {
        console.error(`no receipt ${id}`);
        process.exitCode = 1;
        return;
      }
      console.log(opts.json ? JSON.stringify(receipt, null, 2) : receiptText(receipt));
    });
}
