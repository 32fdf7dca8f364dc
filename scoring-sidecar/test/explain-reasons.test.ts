import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ReasonCatalogueError,
  featuresWithoutReasons,
  loadReasonCatalogue,
  parseReasonCatalogue,
  reasonsFor,
} from '../src/explain/index.js';
import { LEAD_CONVERSION_FEATURES, computeFeatures } from '../src/features/index.js';
import { EventAggregates } from '../src/inputs/index.js';
import { baseLead } from './fixtures/leads.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const catalogueFile = join(repoRoot, 'config', 'reasons', 'lead-conversion.json');
const catalogue = loadReasonCatalogue(catalogueFile);

const spec = {
  features: LEAD_CONVERSION_FEATURES.map((f) => ({
    name: f.name,
    kind: f.kind,
    description: f.description,
    ...(f.kind === 'categorical' ? { categories: ['Technology', 'Retail', 'Web', 'executive', 'vp'] } : {}),
  })),
};
const indexOf = (name: string) => LEAD_CONVERSION_FEATURES.findIndex((f) => f.name === name);

/** Contributions that are zero except for the given features; values likewise null except those given. */
function scenario(entries: Record<string, [contribution: number, value: number | string | boolean | null]>) {
  const contributions = new Float64Array(spec.features.length + 1);
  const values: (number | string | boolean | null)[] = spec.features.map(() => null);
  for (const [name, [c, v]] of Object.entries(entries)) {
    expect(indexOf(name), name).toBeGreaterThanOrEqual(0);
    contributions[indexOf(name)] = c;
    values[indexOf(name)] = v;
  }
  contributions[spec.features.length] = -1.5; // the expected value: never a reason
  return { contributions, values };
}

describe('the lead-conversion reason catalogue', () => {
  it('has positive and negative texts for every feature of LEAD_CONVERSION_FEATURES', () => {
    expect(
      featuresWithoutReasons(
        catalogue,
        LEAD_CONVERSION_FEATURES.map((f) => f.name),
      ),
    ).toEqual([]);
  });

  it('has a text for the missing value of every feature that can be missing', () => {
    for (const f of LEAD_CONVERSION_FEATURES.filter((d) => d.missing === null)) {
      const entry = catalogue.features[f.name]!;
      for (const direction of ['positive', 'negative'] as const) {
        const t = entry[direction] ?? entry.text;
        expect(typeof t === 'object' && t.missing, `${f.name} ${direction}`).toBeTruthy();
      }
    }
  });

  it('uses a format matching each feature kind', () => {
    for (const f of LEAD_CONVERSION_FEATURES) {
      const kind = catalogue.features[f.name]!.format.kind;
      const expected = { categorical: ['category'], boolean: ['boolean'], numeric: ['count', 'number'] }[
        f.kind
      ];
      expect(expected, f.name).toContain(kind);
    }
  });

  it('names the file and the feature when a text is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadrank-reasons-'));
    const file = join(dir, 'broken.json');
    const broken = structuredClone(catalogue) as Record<string, unknown> & typeof catalogue;
    broken.features.do_not_call = {
      label: 'do not call',
      format: { kind: 'boolean' },
      text: { true: 'No calls' },
    };
    await writeFile(file, JSON.stringify(broken));
    try {
      expect(() => loadReasonCatalogue(file)).toThrow(ReasonCatalogueError);
      expect(() => loadReasonCatalogue(file)).toThrow(
        `${file}: feature "do_not_call" positive: needs a "false" text`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses unknown placeholders', () => {
    const raw = {
      version: '1',
      minContribution: 0,
      features: {
        industry: { label: 'industry', format: { kind: 'category' }, text: 'Works in {industry}' },
      },
    };
    expect(() => parseReasonCatalogue(raw, 'test.json')).toThrow(/test\.json: feature "industry" text/);
  });
});

describe('reasonsFor', () => {
  it('returns the strongest contributions first, split by direction, at most `top` of each', () => {
    const { contributions, values } = scenario({
      pricing_page_visit_7d: [0.9, 3],
      email_click_30d: [0.4, 2],
      intent_score: [0.6, 71.6],
      form_fill_7d: [0.2, 1],
      days_since_any_event: [-0.7, 45.2],
      employees: [-0.3, 12000],
    });
    const { positive, negative } = reasonsFor(contributions, values, spec, catalogue, { top: 3 });
    expect(positive.map((r) => r.feature)).toEqual([
      'pricing_page_visit_7d',
      'intent_score',
      'email_click_30d',
    ]);
    expect(positive.map((r) => r.text)).toEqual([
      'Visited the pricing page 3 times this week',
      'Buying-intent score of 72 out of 100',
      'Clicked 2 email links in the last 30 days',
    ]);
    expect(negative.map((r) => [r.feature, r.text])).toEqual([
      ['days_since_any_event', 'No engagement for 45 days'],
      ['employees', 'Works at a company with 12,000 employees'],
    ]);
    expect(negative[0]!.contribution).toBe(-0.7);
    expect(negative[0]!.value).toBe(45.2);
  });

  it('ignores contributions below the threshold, and the expected value', () => {
    const { contributions, values } = scenario({ web_visit_7d: [0.01, 1], trial_signup_30d: [-0.5, 1] });
    const result = reasonsFor(contributions, values, spec, catalogue);
    expect(result.positive).toEqual([]);
    expect(result.negative.map((r) => r.feature)).toEqual(['trial_signup_30d']);
    expect(reasonsFor(contributions, values, spec, catalogue, { minContribution: 0 }).positive).toHaveLength(
      1,
    );
  });

  it('pluralizes and rounds', () => {
    const text = (name: string, value: number | null, c = 0.5) =>
      reasonsFor(
        scenario({ [name]: [c, value] }).contributions,
        scenario({ [name]: [c, value] }).values,
        spec,
        catalogue,
      )[c > 0 ? 'positive' : 'negative'][0]!.text;
    expect(text('pricing_page_visit_7d', 1)).toBe('Visited the pricing page once this week');
    expect(text('pricing_page_visit_7d', 0, -0.5)).toBe('No pricing page visits this week');
    expect(text('days_since_any_event', 0.3)).toBe('Engaged today');
    expect(text('days_since_any_event', 1.2)).toBe('Engaged yesterday');
    expect(text('days_since_any_event', 6.6)).toBe('Last engaged 7 days ago');
    expect(text('days_since_any_event', null, -0.5)).toBe('No engagement recorded yet');
    expect(text('employees', 1)).toBe('Works at a company with 1 employee');
    expect(text('annual_revenue', 12_400_000)).toBe('Company annual revenue of $12.4M');
    expect(text('erp_products_held', 2)).toBe('The account already holds 2 of our products');
  });

  it('shows categories as their text whether given raw or as the model code, never the code', () => {
    const industryCode = spec.features[indexOf('industry')]!.categories!.indexOf('Retail');
    const seniorityCode = spec.features[indexOf('title_seniority')]!.categories!.indexOf('vp');
    const { contributions, values } = scenario({
      industry: [0.5, industryCode],
      title_seniority: [0.4, seniorityCode],
      lead_source: [-0.3, 'Web'],
      country: [-0.2, 99], // a code outside the spec's categories: unknown to the model too
    });
    const { positive, negative } = reasonsFor(contributions, values, spec, catalogue);
    expect(positive.map((r) => [r.value, r.text])).toEqual([
      ['Retail', 'Industry: Retail'],
      ['vp', 'Seniority: VP'],
    ]);
    expect(negative.map((r) => [r.value, r.text])).toEqual([
      ['Web', 'Lead source: Web'],
      [null, 'Country not known'],
    ]);
    for (const r of [...positive, ...negative]) expect(r.text).not.toMatch(/\d/);
  });

  it('words booleans given as true/false or 1/0', () => {
    const { contributions, values } = scenario({ do_not_call: [-0.8, 1], erp_is_customer: [0.6, true] });
    const { positive, negative } = reasonsFor(contributions, values, spec, catalogue);
    expect(negative[0]!.text).toBe('Asked not to be called');
    expect(negative[0]!.value).toBe(true);
    expect(positive[0]!.text).toBe('The account is already a customer');
  });

  it('never outputs PII from the lead', () => {
    const raw = computeFeatures(
      LEAD_CONVERSION_FEATURES,
      { lead: baseLead, events: new EventAggregates(), erp: null, marketing: null },
      Date.parse('2026-03-10T12:00:00Z'),
    );
    // Every feature contributes, alternating sign, so every text is produced.
    const contributions = Float64Array.from(raw, (_, i) => (i % 2 ? -1 : 1) * (1 + i / 100));
    const out = JSON.stringify(reasonsFor(contributions, raw, spec, catalogue, { top: raw.length }));
    for (const pii of [
      baseLead.Email,
      baseLead.Phone,
      baseLead.FirstName,
      baseLead.LastName,
      baseLead.Street,
    ]) {
      expect(out).not.toContain(pii!);
    }
    expect(out).not.toContain(baseLead.Company!);
    expect(out).not.toContain('anna');
  });
});
