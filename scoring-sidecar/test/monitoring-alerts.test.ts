// The alert rules parse as Prometheus rule files, use only metric names the sidecar registers, and each has
// a runbook section in docs/runbook.md.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ApiMetrics } from '../src/api/metrics.js';
import { BatchMetrics } from '../src/batch/metrics.js';
import { MonitoringMetrics } from '../src/monitoring/metrics.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const alertDir = join(root, 'config', 'alerts');
const runbook = readFileSync(join(root, 'docs', 'runbook.md'), 'utf8');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const files = readdirSync(alertDir).filter((f) => f.endsWith('.yml'));
const rules: (Rule & { file: string })[] = files.flatMap((file) => {
  const doc = parse(readFileSync(join(alertDir, file), 'utf8')) as {
    groups: { name: string; rules: Rule[] }[];
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ ...r, file })));
});

function registeredNames(): Set<string> {
  const api = new ApiMetrics();
  new MonitoringMetrics(api.registry);
  // The worker's registry also holds the batch module's series (the opportunity cycle's among them).
  new BatchMetrics(api.registry);
  const names = new Set<string>();
  for (const m of api.registry.getMetricsAsArray()) {
    names.add(m.name);
    // Histograms expose these series too.
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

describe('alert rules', () => {
  it('are Prometheus rule groups with an expression, severity and runbook link', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(rules.length).toBeGreaterThanOrEqual(15);
    for (const r of rules) {
      expect(r.alert, r.file).toMatch(/^Leadrank[A-Za-z]+$/);
      expect(typeof r.expr).toBe('string');
      expect(['page', 'ticket']).toContain(r.labels?.severity);
      expect(r.annotations?.summary).toBeTruthy();
      expect(r.annotations?.runbook_url).toBe(`docs/runbook.md#${r.alert!.toLowerCase()}`);
      if (r.for) expect(r.for).toMatch(/^\d+[smhd]$/);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it('use only metric names the code registers', () => {
    const names = registeredNames();
    for (const r of rules) {
      const used = r.expr.match(/\bleadrank_[a-z_]+\b/g) ?? [];
      expect(used.length, r.alert).toBeGreaterThan(0);
      for (const name of used) expect(names.has(name), `${r.alert} uses ${name}`).toBe(true);
    }
  });

  it('each have a runbook section', () => {
    const headings = new Set([...runbook.matchAll(/^### (\S+)\s*$/gm)].map((m) => m[1]));
    for (const r of rules) expect(headings.has(r.alert!), `docs/runbook.md lacks ### ${r.alert}`).toBe(true);
  });
});
