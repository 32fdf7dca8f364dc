// rankWorklist: each re-ranking rule changes the order as docs/ranking.md says, and ineligible leads never show.
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  explorationRng,
  loadRankingConfig,
  parseRankingConfig,
  rankWorklist,
  toSalesforceWorklistItem,
  type RankingConfig,
  type ScoredCandidate,
  type WorklistLead,
} from '../src/ranking/index.js';

const CONFIG_FILE = fileURLToPath(new URL('../../config/ranking.json', import.meta.url));
const base = loadRankingConfig(CONFIG_FILE);
const now = new Date('2026-03-10T15:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

function configWith(patch: Partial<RankingConfig>): RankingConfig {
  return { ...structuredClone(base), ...patch };
}

const leadId = (n: number) => `00Q${String(n).padStart(12, '0')}AAA`;

function lead(n: number, patch: Partial<WorklistLead> = {}): WorklistLead {
  return {
    leadId: leadId(n),
    region: 'US',
    ownerId: '005000000000001AAA',
    territory: 'T-WEST',
    status: 'Open - Not Contacted',
    isConverted: false,
    hasOptedOutOfEmail: false,
    doNotCall: false,
    createdAt: '2026-03-01T09:00:00Z',
    leadSource: 'Trade Show',
    isInbound: false,
    accountKey: null,
    employees: 100,
    annualRevenue: null,
    lastTouchAt: '2026-03-02T09:00:00Z',
    ...patch,
  };
}

function candidate(n: number, probability: number, patch: Partial<WorklistLead> = {}): ScoredCandidate {
  return {
    lead: lead(n, patch),
    probability,
    score: Math.round(probability * 100),
    band: probability > 0.5 ? 'A' : 'C',
    source: 'model',
    reasons: [{ text: 'Visited pricing page', direction: 'positive' }],
    nextBestAction: { action: 'CALL_NOW', label: 'Call now', rationale: 'hot' },
  };
}

const noExploration = { every: 0, minUncertainty: 0.5 };
const order = (items: { leadId: string }[]) => items.map((i) => i.leadId);

describe('base order: p(convert) × expected deal value', () => {
  it('puts a less likely but much larger deal first, and says why', () => {
    const config = configWith({ exploration: noExploration });
    const small = candidate(1, 0.5, { employees: 5 }); // 0.5 × 3K = 1.5K
    const large = candidate(2, 0.1, { employees: 2000 }); // 0.1 × 90K = 9K
    const { items } = rankWorklist([small, large], config, now);
    expect(order(items)).toEqual([leadId(2), leadId(1)]);
    expect(items[0]!.expectedValue).toBeCloseTo(9000);
    expect(items[0]!.why[0]).toBe('p(convert) 0.10 × value $90K (1,001–5,000 employees) = $9K expected');
  });

  it('falls back to the revenue band, then to the default deal size', () => {
    const config = configWith({ exploration: noExploration });
    const byRevenue = candidate(1, 0.2, { employees: null, annualRevenue: 30_000_000 }); // 20K
    const unknown = candidate(2, 0.2, { employees: null, annualRevenue: null }); // 12K
    const { items } = rankWorklist([unknown, byRevenue], config, now);
    expect(order(items)).toEqual([leadId(1), leadId(2)]);
    expect(items[0]!.why[0]).toContain('annual revenue $10M–$50M');
    expect(items[1]!.why[0]).toContain('company size unknown');
  });

  it('breaks ties by lead Id whatever the input order', () => {
    const config = configWith({ exploration: noExploration });
    const tied = [candidate(3, 0.3), candidate(1, 0.3), candidate(2, 0.3)];
    const { items } = rankWorklist(tied, config, now);
    expect(order(items)).toEqual([leadId(1), leadId(2), leadId(3)]);
    expect(items[1]!.why).toContain('tied on priority: ordered by lead Id');
  });
});

describe('speed-to-lead', () => {
  const config = configWith({ exploration: noExploration });
  const inbound = { isInbound: true, leadSource: 'Web', lastTouchAt: null, employees: 5 };

  it('boosts a new untouched inbound lead inside its SLA above a far more valuable lead', () => {
    const valuable = candidate(1, 0.6, { employees: 2000 });
    const fresh = candidate(2, 0.05, { ...inbound, createdAt: minutesAgo(5) });
    const { items } = rankWorklist([valuable, fresh], config, now);
    expect(order(items)).toEqual([leadId(2), leadId(1)]);
    expect(items[0]!.why[0]).toBe(
      'new inbound lead inside its 15-min response SLA (10 min left): boosted ×1000',
    );
    expect(items[0]!.priority).toBeCloseTo(items[0]!.expectedValue * 1000);
  });

  it('does not boost once the SLA has passed, once touched, or for outbound sources', () => {
    const valuable = candidate(1, 0.6, { employees: 2000 });
    const late = candidate(2, 0.05, { ...inbound, createdAt: minutesAgo(16) });
    const touched = candidate(3, 0.05, { ...inbound, createdAt: minutesAgo(5), lastTouchAt: minutesAgo(1) });
    const outbound = candidate(4, 0.05, { ...inbound, isInbound: false, createdAt: minutesAgo(5) });
    const { items } = rankWorklist([late, touched, outbound, valuable], config, now);
    expect(items[0]!.leadId).toBe(leadId(1));
    expect(items.flatMap((i) => i.why).some((w) => w.includes('SLA'))).toBe(false);
  });
});

describe('per-account cap', () => {
  it('moves the third lead of one account below the top K, keeping the rest in order', () => {
    const config = configWith({ exploration: noExploration, accountCap: { maxPerAccount: 2, topK: 3 } });
    const acme = { accountKey: '001ACME' };
    const candidates = [
      candidate(1, 0.9, acme),
      candidate(2, 0.8, acme),
      candidate(3, 0.7, acme),
      candidate(4, 0.6),
      candidate(5, 0.5),
    ];
    const { items } = rankWorklist(candidates, config, now);
    expect(order(items)).toEqual([leadId(1), leadId(2), leadId(4), leadId(3), leadId(5)]);
    expect(items[3]!.why).toContain(
      '3rd lead of account 001ACME within the top 3 (max 2): capped, moved below it',
    );
  });
});

describe('daily capacity', () => {
  it('lists at most the capacity and summarizes the rest as excluded', () => {
    const config = configWith({ exploration: noExploration, capacity: { dailyLeads: 3 } });
    const candidates = [1, 2, 3, 4, 5].map((n) => candidate(n, n / 10));
    const { items, excluded } = rankWorklist(candidates, config, now);
    expect(order(items)).toEqual([leadId(5), leadId(4), leadId(3)]);
    expect(excluded).toEqual([
      { leadId: leadId(2), why: 'beyond the daily capacity of 3 leads (would rank 4)' },
      { leadId: leadId(1), why: 'beyond the daily capacity of 3 leads (would rank 5)' },
    ]);
  });
});

describe('exploration slot', () => {
  const config = configWith({
    capacity: { dailyLeads: 4 },
    exploration: { every: 2, minUncertainty: 0.5 },
  });
  // sure leads (p 0.95: uncertainty 0.1) on top; uncertain ones (p ≈ 0.5) below the capacity
  const candidates = [
    ...[1, 2, 3, 4].map((n) => candidate(n, 0.95)),
    ...[5, 6, 7, 8].map((n) => candidate(n, 0.45 + n / 100)),
  ];

  it('fills every n-th position with an uncertain lead from below it, flagged, for a fixed seed', () => {
    const first = rankWorklist(candidates, config, now, explorationRng('005REP', now));
    const again = rankWorklist(candidates, config, now, explorationRng('005REP', now));
    expect(again).toEqual(first);
    expect(first.items.map((i) => i.exploration)).toEqual([false, true, false, true]);
    for (const item of first.items.filter((i) => i.exploration)) {
      expect(item.probability).toBeLessThan(0.6);
      expect(item.why[0]).toMatch(
        /^exploration slot \(every 2nd position\): uncertain score \(p 0\.\d\d\), up from rank [5-8]$/,
      );
    }
    expect(first.items.length).toBe(4);
    // the sure leads pushed out by the slots are summarized with the rest
    expect(first.excluded.map((e) => e.leadId)).toEqual(expect.arrayContaining([leadId(3), leadId(4)]));
  });

  it('is the same all day for one rep and seeded per rep and day', () => {
    const later = new Date('2026-03-10T23:59:00Z');
    const draws = (rep: string, at: Date) => Array.from({ length: 5 }, explorationRng(rep, at));
    expect(draws('005REP', later)).toEqual(draws('005REP', now));
    expect(draws('005OTHER', now)).not.toEqual(draws('005REP', now));
    expect(draws('005REP', new Date('2026-03-11T00:00:00Z'))).not.toEqual(draws('005REP', now));
  });

  it('uses a model-provided uncertainty over the one derived from p', () => {
    const sure = candidates.map((c) => ({ ...c, uncertainty: c.lead.leadId === leadId(8) ? 0.9 : 0.1 }));
    const { items } = rankWorklist(sure, config, now, () => 0);
    expect(items.filter((i) => i.exploration).map((i) => i.leadId)).toEqual([leadId(8)]);
  });
});

describe('eligibility', () => {
  it('never lists converted, closed, disqualified or fully opted-out leads', () => {
    const config = configWith({ exploration: noExploration });
    const candidates = [
      candidate(1, 0.9, { isConverted: true, status: 'Closed - Converted' }),
      candidate(2, 0.9, { status: 'Closed - Not Converted' }),
      candidate(3, 0.9, { status: 'Disqualified' }),
      candidate(4, 0.9, { hasOptedOutOfEmail: true, doNotCall: true }),
      candidate(5, 0.1, { hasOptedOutOfEmail: true }), // one channel left: still workable
    ];
    const { items, excluded } = rankWorklist(candidates, config, now);
    expect(order(items)).toEqual([leadId(5)]);
    expect(excluded).toEqual([
      { leadId: leadId(1), why: 'converted' },
      { leadId: leadId(2), why: 'status "Closed - Not Converted" is closed' },
      { leadId: leadId(3), why: 'status "Disqualified" is closed' },
      { leadId: leadId(4), why: 'opted out of both email and calls' },
    ]);
  });

  it('keeps its invariants for any candidate set', () => {
    const config = configWith({
      capacity: { dailyLeads: 12 },
      accountCap: { maxPerAccount: 2, topK: 6 },
      exploration: { every: 4, minUncertainty: 0.3 },
    });
    const arbCandidate = fc.record({
      n: fc.integer({ min: 1, max: 60 }),
      p: fc.double({ min: 0, max: 1, noNaN: true }),
      account: fc.constantFrom(null, '001A', '001B'),
      converted: fc.boolean(),
      optedOut: fc.boolean(),
      inbound: fc.boolean(),
      ageMinutes: fc.integer({ min: 0, max: 60 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbCandidate, { selector: (c) => c.n, maxLength: 40 }),
        fc.nat(),
        (raw, seed) => {
          const candidates = raw.map((c) =>
            candidate(c.n, c.p, {
              accountKey: c.account,
              isConverted: c.converted,
              hasOptedOutOfEmail: c.optedOut,
              doNotCall: c.optedOut,
              isInbound: c.inbound,
              lastTouchAt: null,
              createdAt: minutesAgo(c.ageMinutes),
            }),
          );
          const { items, excluded } = rankWorklist(
            candidates,
            config,
            now,
            explorationRng(String(seed), now),
          );
          const listed = order(items);
          expect(listed.length).toBeLessThanOrEqual(12);
          expect(new Set([...listed, ...excluded.map((e) => e.leadId)]).size).toBe(candidates.length);
          expect(listed.length + excluded.length).toBe(candidates.length);
          for (const c of raw.filter((c) => c.converted || c.optedOut))
            expect(listed).not.toContain(leadId(c.n));
          // The cap holds in the top K unless other leads run out: then capped leads follow all uncapped ones.
          const top = items.slice(0, 6);
          const accountOf = (id: string) => candidates.find((c) => c.lead.leadId === id)!.lead.accountKey;
          const capped = (i: (typeof items)[number]) => i.why.some((w) => w.includes('capped'));
          for (const account of ['001A', '001B'])
            expect(
              top.filter((i) => accountOf(i.leadId) === account && !capped(i)).length,
            ).toBeLessThanOrEqual(2);
          const firstCapped = top.findIndex(capped);
          if (firstCapped >= 0)
            expect(top.slice(firstCapped).every((i) => capped(i) || i.exploration)).toBe(true);
          expect(items.map((i) => i.rank)).toEqual(items.map((_, i) => i + 1));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('config', () => {
  it('names the file and the field of an invalid value', () => {
    const raw = structuredClone(base) as unknown as { accountCap: { topK: number } };
    raw.accountCap.topK = 0;
    expect(() => parseRankingConfig(raw, 'config/ranking.json')).toThrow(
      /config\/ranking\.json: invalid ranking config: accountCap\.topK: /,
    );
  });

  it('refuses deal-size bands that do not ascend', () => {
    const raw = structuredClone(base);
    raw.expectedValue.byEmployees[1]!.upTo = 5;
    expect(() => parseRankingConfig(raw, 'x.json')).toThrow(
      /expectedValue\.byEmployees\.1\.upTo: employee bands must ascend/,
    );
  });

  it('names a missing file', () => {
    expect(() => loadRankingConfig('/nonexistent/ranking.json')).toThrow(
      /\/nonexistent\/ranking\.json: cannot read/,
    );
  });
});

it('maps an item to the shape WorklistController.cls reads', () => {
  const { items } = rankWorklist([candidate(1, 0.4)], configWith({ exploration: noExploration }), now);
  expect(toSalesforceWorklistItem(items[0]!)).toEqual({
    leadId: leadId(1),
    rank: 1,
    score: 40,
    band: 'C',
    source: 'model',
    reasons: ['+ Visited pricing page'],
    nextBestAction: 'Call now',
  });
});
