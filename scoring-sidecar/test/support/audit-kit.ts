// Audit-log test fixtures shared by the audit suites: a realistic score entry (no PII: ids, numbers, reason
// texts) and the `leadrank audit …` commands run in-process with their output captured.
import { Command } from 'commander';
import { vi } from 'vitest';
import { featureHash, type AuditEntry } from '../../src/audit/index.js';
import { registerAuditCommands } from '../../src/commands/audit.js';

/** Entry n of a small batch cycle: five leads in turn, scored a second apart. */
export function auditEntry(n: number, patch: Partial<AuditEntry> = {}): AuditEntry {
  const featureVector = [n, 0.25, null, 3];
  return {
    requestId: `req-${n}`,
    caller: 'batch-cycle',
    leadId: `00Q${String(n % 5).padStart(12, '0')}AAA`,
    region: 'EU',
    modelVersion: 'lgbm-2026-03-01',
    source: 'model',
    featureVector,
    featureHash: featureHash(featureVector, 'spec-1'),
    score: 40 + (n % 50),
    band: 'B',
    probability: 0.3,
    reasons: ['+ Visited pricing page 3 times', '- No reply to the last email'],
    nextBestAction: 'CALL_NOW',
    scoredAt: new Date(Date.UTC(2026, 2, 10, 12, 0, n % 60)).toISOString(),
    ...patch,
  };
}

export const auditEntries = (from: number, count: number): AuditEntry[] =>
  Array.from({ length: count }, (_, i) => auditEntry(from + i));

/** `leadrank <args>` with the audit commands, console captured (restore with vi.restoreAllMocks). */
export async function runAuditCommand(
  args: string[],
): Promise<{ out: string; err: string; exitCode: number | undefined }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const before = process.exitCode;
  process.exitCode = undefined;
  const program = new Command('leadrank').exitOverride();
  registerAuditCommands(program);
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    vi.mocked(console.log).mockRestore();
    vi.mocked(console.error).mockRestore();
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = before;
  return { out: out.join('\n'), err: err.join('\n'), exitCode };
}
