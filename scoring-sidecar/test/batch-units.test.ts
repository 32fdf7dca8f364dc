// Units of the batch cycle: the exact explanation cache key and the material-change rule. (The Bulk client's
// retries and re-submission are tested against the org simulator in salesforce-client.test.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchScorer, emptyScoreStats, type ScoredLead } from '../src/batch/batch-scorer.js';
import { materialReason } from '../src/batch/delta.js';
import {
  decodeExplanation,
  encodeExplanation,
  loadExplanationKeyer,
  type ExplanationKeyer,
} from '../src/batch/explanation-key.js';
import { leadToScore, type PublishedScore } from '../src/batch/lead-rows.js';
import { MemoryExplanationCache } from '../src/batch/state-store.js';
import { leadTimeZone, loadRegionsConfig, loadScoringConfig } from '../src/config/index.js';
import { loadReasonCatalogue } from '../src/explain/index.js';
import {
  chooseNextBestAction,
  loadActionCatalogue,
  loadRuleSet,
  scoreWithRules,
  type ActionCatalogue,
} from '../src/model/rules/index.js';
import { loadServingModel, type ServingModel } from '../src/scoring/model-source.js';
import { trainSyntheticModel } from './api-test-kit.js';

describe('explanation key', () => {
  let serving: ServingModel;
  let keyer: ExplanationKeyer;
  let dir: string;
  beforeAll(async () => {
    dir = await trainSyntheticModel(mkdtempSync(join(tmpdir(), 'batch-model-')), 2000);
    serving = await loadServingModel(dir);
    keyer = loadExplanationKeyer(join(dir, 'model.json'), serving.version);
  }, 120_000);

  it('gives equal keys only to rows whose TreeSHAP values are bit-identical', () => {
    const width = serving.onnx.spec.features.length;
    const value = fc.oneof(
      fc.constant(null),
      fc.constant(0),
      fc.double({ min: -5, max: 500, noNaN: true }),
      fc.integer({ min: 0, max: 6 }),
    );
    let sameKeyPairs = 0;
    fc.assert(
      fc.property(
        fc.array(value, { minLength: width, maxLength: width }),
        fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: width, maxLength: width }),
        (a, jitter) => {
          // b = a nudged a little: often the same split intervals, sometimes not.
          const b = a.map((v, i) =>
            typeof v === 'number' && v !== 0 && !Number.isInteger(v) ? v + jitter[i]! : v,
          );
          const rows = Float64Array.from([...a, ...b].map((v) => (v === null ? NaN : v)));
          const phi = serving.explainer.explainBatch(rows, 2);
          const sameShap = phi.subarray(0, width + 1).every((x, i) => Object.is(x, phi[width + 1 + i]));
          // The online cache's signature (explainer.signatureOf) and the batch key agree on which rows share values.
          const signatureOf = serving.explainer.signatureOf!;
          expect(signatureOf(a) === signatureOf(b)).toBe(keyer.keyOf(a) === keyer.keyOf(b));
          if (keyer.keyOf(a) === keyer.keyOf(b)) {
            sameKeyPairs++;
            expect(sameShap).toBe(true);
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    );
    expect(sameKeyPairs).toBeGreaterThan(10);
  });

  it('changes with the model version and round-trips through its compact encoding', () => {
    const row = new Array(serving.onnx.spec.features.length).fill(1);
    const otherVersion = loadExplanationKeyer(join(dir, 'model.json'), 'lr-ffffffffffffffff');
    expect(otherVersion.keyOf(row)).not.toBe(keyer.keyOf(row));
    const entry = {
      key: keyer.keyOf(row),
      contributions: [
        { index: 3, value: -0.125 },
        { index: 17, value: 0.5 },
      ],
    };
    expect(decodeExplanation(encodeExplanation(entry))).toEqual(entry);
  });
});

describe('next-best action per time zone', () => {
  const config = join(new URL('../..', import.meta.url).pathname, 'config');

  it('chooses for every lead what the catalogue chooses lead by lead, in and out of working hours', async () => {
    const regions = loadRegionsConfig(join(config, 'regions.json'));
    const ruleSet = await loadRuleSet(join(config, 'rules', 'default.json'));
    const shipped = await loadActionCatalogue(join(config, 'actions', 'catalogue.json'));
    // Actions with working hours open to every band, so they compete for every lead here.
    const actions: ActionCatalogue = {
      ...shipped,
      actions: shipped.actions.map((a) =>
        a.eligibility.workingHours
          ? { ...a, eligibility: { ...a.eligibility, bands: ['A', 'B', 'C', 'D'] } }
          : a,
      ),
    };
    const hoursLabels = actions.actions.filter((a) => a.eligibility.workingHours).map((a) => a.label);
    expect(hoursLabels.length).toBeGreaterThan(0);
    const scorer = new BatchScorer({
      region: 'EU',
      model: null,
      ruleSet,
      actions,
      regions,
      bands: loadScoringConfig(join(config, 'scoring.json')).bands,
      topReasons: 3,
      catalogue: loadReasonCatalogue(join(config, 'reasons', 'lead-conversion.json')),
      explanations: new MemoryExplanationCache(),
      store: null,
      batchRows: 50,
      explainYieldRows: 50,
    });
    const countries = ['Germany', 'Japan', 'Canada', 'India', null, 'Nowhere'];
    const leads = Array.from({ length: 120 }, (_, i) =>
      leadToScore({
        Id: `00Q${String(i).padStart(15, '0')}`,
        Country: countries[i % countries.length]!,
        Status: 'Open - Not Contacted',
        LeadSource: ['Web', 'Partner Referral', 'Purchased List'][i % 3]!,
        NumberOfEmployees: String((i * 97) % 3000),
        AnnualRevenue: String(1_000_000 + i * 50_000),
        Title: ['CEO', 'Analyst', 'VP Sales'][i % 3]!,
        Email: 'x@acme.example',
        Web_Visits__c: String(i % 15),
        DoNotCall: i % 4 === 0 ? 'true' : 'false',
        HasOptedOutOfEmail: i % 7 === 0 ? 'true' : 'false',
        CreatedDate: '2025-01-02T08:00:00.000Z',
        Data_Region__c: 'EU',
      }),
    );
    // A Monday 09:30 UTC (working hours in Europe, not in Tokyo's evening or Canada's night), a Saturday,
    // and a Monday night: the scorer's per-zone cache must be reset when the instant changes.
    const instants = ['2025-03-03T09:30:00Z', '2025-03-08T11:00:00Z', '2025-03-03T22:00:00Z'];
    const seen = new Set<string | null>();
    for (const instant of instants) {
      const asOf = new Date(instant);
      const scored = await scorer.score(leads, asOf, emptyScoreStats());
      leads.forEach((lead, i) => {
        const rules = scoreWithRules(ruleSet, lead.record, asOf);
        const zone = leadTimeZone(regions, 'EU', lead.profile.Country);
        const positive = rules.firedRules.filter((f) => f.points >= 0).map((f) => f.reasonText);
        const expected = chooseNextBestAction(
          actions,
          { score: rules.score, band: rules.band, reasons: positive },
          lead.record,
          asOf,
          zone,
        );
        expect(scored[i]!.nextBestAction).toBe(expected ? `${expected.label}: ${expected.rationale}` : null);
        seen.add(scored[i]!.nextBestAction?.split(': ')[0] ?? null);
      });
    }
    expect(seen.size).toBeGreaterThan(2);
    expect(hoursLabels.some((label) => seen.has(label))).toBe(true);
  });
});

describe('material change', () => {
  const rule = {
    points: 5,
    onBandChange: true,
    onTopReasonChange: true,
    onNextBestActionChange: true,
    onSourceChange: true,
    maxAgeHours: 20,
  };
  const now = Date.parse('2026-03-01T12:00:00Z');
  const prev: PublishedScore = {
    score: 60,
    band: 'B',
    reasons: '+ Last visited the website 3 days ago\n- Industry: Retail',
    nextBestAction: 'Send a personal email: B-band lead scoring 60.',
    source: 'Model',
    scoredAtMs: now - 3_600_000,
  };
  const next = (o: Partial<ScoredLead> = {}): ScoredLead => ({
    leadId: '00Q000000000001AAA',
    score: 61,
    band: 'B',
    probability: 0.3,
    reasonLines: ['+ Last visited the website 4 days ago', '- Industry: Retail'],
    nextBestAction: 'Send a personal email: B-band lead scoring 61.',
    source: 'model',
    modelVersion: 'lr-0000000000000000',
    featureHash: 'h',
    ...o,
  });

  it('ignores small moves, day counts in reason texts and the rationale of the same action', () => {
    expect(materialReason(prev, next(), rule, now)).toBeNull();
  });

  it('writes first scores, big moves, band, top reason, action and source changes, and old scores', () => {
    expect(materialReason({ ...prev, score: null, band: null }, next(), rule, now)).toBe('first');
    expect(materialReason(prev, next({ score: 65 }), rule, now)).toBe('score');
    expect(materialReason(prev, next({ score: 55, band: 'B' }), rule, now)).toBe('score');
    expect(materialReason({ ...prev, score: 50 }, next({ score: 49, band: 'C' }), rule, now)).toBe('band');
    expect(materialReason(prev, next({ reasonLines: ['+ Industry: Technology'] }), rule, now)).toBe(
      'topReason',
    );
    expect(materialReason(prev, next({ nextBestAction: 'Call now: go' }), rule, now)).toBe('nextBestAction');
    expect(materialReason(prev, next({ source: 'rules' }), rule, now)).toBe('source');
    expect(materialReason({ ...prev, scoredAtMs: now - 21 * 3_600_000 }, next(), rule, now)).toBe('maxAge');
    expect(
      materialReason(
        prev,
        next({ nextBestAction: 'Call now: go' }),
        { ...rule, onNextBestActionChange: false },
        now,
      ),
    ).toBeNull();
  });
});
