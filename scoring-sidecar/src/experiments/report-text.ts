// The readable form of an experiment report (the CLI prints it; docs/evaluation.md shows one).
import type { ExperimentReport } from './analysis.js';
import type { Estimate } from './stats.js';

function line(label: string, e: Estimate | null, scale: number, unit: string, digits: number): string {
  if (!e) return `  ${label}: not enough data`;
  const f = (x: number) => (x * scale).toFixed(digits);
  const rel = e.relative === null ? '' : ` (${e.relative >= 0 ? '+' : ''}${(100 * e.relative).toFixed(1)} %)`;
  return (
    `  ${label}: control ${f(e.control.mean)}${unit}, treatment ${f(e.treatment.mean)}${unit}; ` +
    `diff ${f(e.diff)}${unit}${rel}, 95 % CI [${f(e.ci[0])}, ${f(e.ci[1])}], p=${e.pValue.toFixed(3)}`
  );
}

export function formatReport(r: ExperimentReport): string {
  const out: string[] = [];
  out.push(`experiment ${r.experimentId}: ${r.mode} at share ${r.share}, ${r.daysRunning.toFixed(1)} days`);
  out.push(
    `  units control/treatment: ${r.units.control}/${r.units.treatment}; exposed leads ${r.leads.control}/${r.leads.treatment}`,
  );
  out.push(line('conversion (CUPED)', r.metrics.conversion, 100, ' %', 2));
  if (r.metrics.conversion?.cuped) {
    out.push(
      `    CUPED theta ${r.metrics.conversion.cuped.theta.toFixed(3)}, variance reduced by ` +
        `${(100 * r.metrics.conversion.cuped.varianceReduction).toFixed(1)} %`,
    );
  }
  out.push(line('conversion (raw)', r.metrics.conversionRaw, 100, ' %', 2));
  out.push(line('hours to first touch', r.metrics.hoursToFirstTouch, 1, ' h', 1));
  out.push(line('pipeline per lead', r.metrics.pipelinePerLead, 1, '', 0));
  out.push(
    r.srm
      ? `  sample ratio: observed ${r.srm.observed.join('/')} vs expected ${r.srm.expected.map((e) => e.toFixed(1)).join('/')}, ` +
          `p=${r.srm.pValue.toFixed(4)}${r.srm.mismatch ? '  MISMATCH' : ''}`
      : '  sample ratio: not checked yet (too few units, or a single arm)',
  );
  const p = r.plan;
  out.push(
    `  plan: base rate ${p.baseRate === null ? 'n/a' : (100 * p.baseRate).toFixed(1) + ' %'}, ICC ${p.icc?.toFixed(3) ?? 'n/a'}, ` +
      `${p.leadsPerUnit?.toFixed(1) ?? 'n/a'} leads/unit; detectable now ${p.mdeNow === null ? 'n/a' : (100 * p.mdeNow).toFixed(2) + ' pts'}; ` +
      `units needed for ${(100 * p.targetMde).toFixed(1)} pts: ${p.unitsNeeded ?? 'n/a'}`,
  );
  out.push('  guardrails:');
  for (const g of r.guardrails) {
    const status = g.breached ? 'BREACHED' : g.insufficientData ? 'waiting' : 'ok';
    out.push(`    ${status.padEnd(8)} ${g.name}: ${g.detail}`);
  }
  out.push(`decision: ${r.decision.toUpperCase()}`);
  for (const reason of r.reasons) out.push(`  - ${reason}`);
  return out.join('\n');
}
