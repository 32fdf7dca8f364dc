// `leadrank audit verify` and `leadrank audit show <leadId>`. Output is for a person at a terminal; it holds
// lead ids, scores and reason texts, never names or contact details (the log has none).
import type { Command } from 'commander';
import { auditHistory, verifyAuditLog, type AuditEntry } from '../audit/index.js';

const defaultDir = () => process.env.LEADRANK_AUDIT_DIR ?? 'var/audit';

type Row = AuditEntry & { seq: number };

/** A plain-text table (hand-written: five columns do not need a table dependency). */
export function formatHistory(rows: readonly Row[]): string {
  const header = ['SEQ', 'SCORED AT', 'SCORE', 'BAND', 'P', 'SOURCE', 'MODEL', 'NEXT ACTION'];
  const cells = rows.map((r) => [
    String(r.seq),
    r.scoredAt,
    String(r.score),
    r.band,
    r.probability.toFixed(3),
    r.fallbackReason ? `${r.source} (${r.fallbackReason})` : r.source,
    r.modelVersion,
    r.nextBestAction ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header)];
  rows.forEach((r, i) => {
    out.push(line(cells[i]!));
    for (const reason of r.reasons) out.push(`${' '.repeat(widths[0]! + 2)}${reason}`);
  });
  return out.join('\n');
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained score audit log');
  audit
    .command('verify')
    .description('check every line and segment of the audit log; exit 1 naming the first problem')
    .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
    .action(async (opts: { dir: string }) => {
      const result = await verifyAuditLog(opts.dir);
      if (result.ok) {
        console.log(`ok: ${result.entries} entries in ${result.segments} segments under ${opts.dir}`);
        return;
      }
      const p = result.problem!;
      console.error(`audit log NOT ok: ${p.segment}${p.line > 0 ? ` line ${p.line}` : ''}: ${p.reason}`);
      process.exitCode = 1;
    });
  audit
    .command('show <leadId>')
    .description("a lead's score history with reasons, newest first")
    .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
    .action(async (leadId: string, opts: { dir: string }) => {
      const rows: Row[] = [];
      try {
        for await (const entry of auditHistory(opts.dir, leadId)) rows.push(entry);
      } catch (error) {
        console.error(`cannot read the audit log under ${opts.dir}: ${(error as Error).message}`);
        process.exitCode = 1;
        return;
      }
      if (rows.length === 0) {
        console.log(`no audit entries for ${leadId} under ${opts.dir}`);
        return;
      }
      console.log(formatHistory(rows.sort((a, b) => b.seq - a.seq)));
    });
}
