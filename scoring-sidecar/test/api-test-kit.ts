// Test and bench support for the API: synthetic leads, and a real model trained by training/leadrank_training
// on a synthetic set built through the real feature path (LEAD_CONVERSION_FEATURES -> computeFeatures ->
// buildFeatureSpec -> writeTrainingSet), so serving exercises the same definitions as training.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildFeatureSpec,
  CategoryCounter,
  computeFeatures,
  encodeFeatures,
  LEAD_CONVERSION_FEATURES,
  type TrainingRow,
  writeTrainingSet,
} from '../src/features/index.js';
import { EVENT_TYPES, EventAggregates, leadProfileSchema, type LeadProfile } from '../src/inputs/index.js';
import type { WorklistLead } from '../src/ranking/index.js';
import { seeded } from './support/seeded.js';
import { leadrankPython } from '../src/model/python.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export { leadrankPython };

export { seeded };

const SOURCES = ['Web', 'Partner Referral', 'Purchased List', 'Trade Show', 'Employee Referral'];
const INDUSTRIES = ['Technology', 'Finance', 'Healthcare', 'Retail', 'Education'];
const COUNTRIES = { US: ['United States', 'Canada'], EU: ['Germany', 'France', 'Spain'] } as const;
const TITLES = ['Director of IT', 'CEO', 'Analyst', 'VP Sales', 'Student', 'Engineering Manager'];
const DOMAINS = ['gmail.com', 'acme.example', 'yahoo.com', 'globex.example'];

/** A Salesforce-shaped Lead Id (15 characters) from a number. */
export function leadIdOf(n: number): string {
  return `00Q${n.toString(36).toUpperCase().padStart(12, '0')}`;
}

/** A lead created `ageDays` before `nowMs`; no real person: names and emails are synthetic. */
export function syntheticLead(
  n: number,
  region: 'US' | 'EU',
  nowMs: number,
  rand: () => number,
): LeadProfile {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const ageDays = rand() * 120;
  return leadProfileSchema.parse({
    Id: leadIdOf(n),
    CreatedDate: new Date(nowMs - ageDays * 86_400_000).toISOString(),
    LeadSource: pick(SOURCES),
    Industry: rand() < 0.1 ? null : pick(INDUSTRIES),
    NumberOfEmployees: rand() < 0.1 ? null : Math.floor(Math.exp(rand() * 9)),
    AnnualRevenue: rand() < 0.3 ? null : Math.floor(Math.exp(10 + rand() * 10)),
    Country: pick(COUNTRIES[region]),
    Lead_Origin__c: pick(['Landing Page', 'API', 'Import']),
    HasOptedOutOfEmail: rand() < 0.1,
    DoNotCall: rand() < 0.1,
    Data_Region__c: region,
    Matched_Account__c: rand() < 0.3 ? `001${String(n).padStart(12, '0')}` : null,
    Title: pick(TITLES),
    Company: `Company ${n}`,
    Email: `person${n}@${pick(DOMAINS)}`,
    Phone: null,
    FirstName: 'Test',
    LastName: `Lead${n}`,
    Street: null,
  });
}

/** Engagement folded as the store would: `count` events spread over the last 40 days before `nowMs`. */
/** A lead as the worklist index holds it: open, owned by `ownerId`, with its account from the profile. */
export function worklistLeadOf(
  lead: LeadProfile,
  ownerId: string,
  patch: Partial<WorklistLead> = {},
): WorklistLead {
  return {
    leadId: lead.Id,
    region: 'US',
    ownerId,
    territory: null,
    status: 'Open - Not Contacted',
    isConverted: false,
    hasOptedOutOfEmail: false,
    doNotCall: false,
    createdAt: lead.CreatedDate,
    leadSource: lead.LeadSource,
    isInbound: false,
    accountKey: lead.Matched_Account__c,
    employees: lead.NumberOfEmployees,
    annualRevenue: lead.AnnualRevenue,
    lastTouchAt: null,
    ...patch,
  };
}

export function syntheticEvents(nowMs: number, rand: () => number): EventAggregates {
  const events = new EventAggregates();
  const count = Math.floor(-Math.log(rand()) * 4);
  for (let i = 0; i < count; i++) {
    const type = EVENT_TYPES[Math.floor(rand() * EVENT_TYPES.length)]!;
    events.apply(type, nowMs - rand() * 40 * 86_400_000);
  }
  return events;
}

/**
 * Trains a model with `python -m leadrank_training.train` on `rows` synthetic leads and returns its directory
 * (`<work>/model`). The label depends on pricing visits, source, size and free mail, so reasons are non-trivial.
 */
export async function trainSyntheticModel(work: string, rows = 3000, seed = 7): Promise<string> {
  const rand = seeded(seed);
  const start = Date.UTC(2025, 0, 1);
  const samples: {
    lead: LeadProfile;
    events: EventAggregates;
    at: number;
    raw: ReturnType<typeof computeFeatures>;
  }[] = [];
  const counter = new CategoryCounter(LEAD_CONVERSION_FEATURES);
  for (let i = 0; i < rows; i++) {
    const at = start + i * 3_600_000;
    const region = i % 4 === 0 ? 'EU' : 'US';
    const lead = syntheticLead(i, region, at, rand);
    const events = syntheticEvents(at, rand);
    const raw = computeFeatures(LEAD_CONVERSION_FEATURES, { lead, events, erp: null, marketing: null }, at);
    counter.add(raw);
    samples.push({ lead, events, at, raw });
  }
  const spec = buildFeatureSpec(
    'lead-conversion-api-test',
    LEAD_CONVERSION_FEATURES,
    (n) => counter.categories(n, 5),
    30,
  );
  function* trainingRows(): Generator<TrainingRow> {
    for (const s of samples) {
      const visits = s.events.countInWindow('pricing_page_visit', 30, s.at);
      const z =
        -1.2 +
        0.6 * Math.min(visits, 4) +
        (s.lead.LeadSource?.includes('Referral') ? 1.2 : 0) +
        (s.lead.LeadSource === 'Purchased List' ? -1.0 : 0) +
        0.15 * Math.log1p(s.lead.NumberOfEmployees ?? 10) +
        (s.lead.Email?.endsWith('gmail.com') || s.lead.Email?.endsWith('yahoo.com') ? -0.7 : 0);
      yield {
        leadId: s.lead.Id,
        snapshotAt: new Date(s.at),
        label: rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0,
        segments: {
          region: s.lead.Data_Region__c,
          leadSource: s.lead.LeadSource,
          industry: s.lead.Industry,
          companySize: null,
        },
        values: encodeFeatures(spec, s.raw),
      };
    }
  }
  await writeTrainingSet(join(work, 'data'), spec, trainingRows());
  execFileSync(
    leadrankPython(),
    ['-m', 'leadrank_training.train', '--data', join(work, 'data'), '--out', join(work, 'model')],
    {
      cwd: repoRoot,
      env: { ...process.env, PYTHONPATH: join(repoRoot, 'training') },
      stdio: 'pipe',
    },
  );
  return join(work, 'model');
}
