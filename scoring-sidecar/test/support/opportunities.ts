// Open deals for the opportunity cycle's tests: synthetic accounts and opportunities (no real company) inserted
// into an org simulator's store, and readers of what the org holds afterwards.
import type { RunningOrgSimulator } from '../../../org-simulator/src/server.js';
import { seeded } from './seeded.js';

const OPEN_STAGES = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Proposal/Price Quote',
  'Negotiation/Review',
];
const TYPES = ['New Customer', 'Existing Customer - Upgrade', 'Existing Customer - Replacement'];
const SOURCES = ['Web', 'Partner Referral', 'Trade Show', 'Employee Referral'];
const INDUSTRIES = ['Technology', 'Finance', 'Healthcare', 'Retail'];

/**
 * `n` open deals of `region`, each on its own account, plus `closed` closed ones the cycle must leave alone.
 * Returns the open deals' Ids, sorted.
 */
export function seedOpportunities(
  sim: RunningOrgSimulator,
  n: number,
  o: { region?: 'US' | 'EU'; seed?: number; closed?: number } = {},
): string[] {
  const rand = seeded(o.seed ?? 5);
  const region = o.region ?? 'EU';
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const store = sim.ctx.store;
  const total = n + (o.closed ?? 0);
  const accounts = store.insert(
    'Account',
    Array.from({ length: total }, (_, i) => ({
      Name: `Account ${i}`,
      Industry: pick(INDUSTRIES),
      NumberOfEmployees: Math.floor(Math.exp(rand() * 8)),
      AnnualRevenue: Math.floor(Math.exp(12 + rand() * 6)),
      Data_Region__c: region,
    })),
  );
  const failedAccount = accounts.find((r) => !r.success);
  if (failedAccount) throw new Error(`account seed failed: ${JSON.stringify(failedAccount)}`);
  const today = store.now().getTime();
  const deals = store.insert(
    'Opportunity',
    Array.from({ length: total }, (_, i) => ({
      Name: `Deal ${i}`,
      AccountId: accounts[i]!.id,
      StageName: i < n ? pick(OPEN_STAGES) : 'Closed Lost',
      Amount: Math.round(5_000 + rand() * 95_000),
      CloseDate: new Date(today + Math.floor(rand() * 90) * 86_400_000).toISOString().slice(0, 10),
      Type: pick(TYPES),
      LeadSource: pick(SOURCES),
      Data_Region__c: region,
    })),
  );
  const failedDeal = deals.find((r) => !r.success);
  if (failedDeal) throw new Error(`opportunity seed failed: ${JSON.stringify(failedDeal)}`);
  return deals
    .slice(0, n)
    .map((r) => r.id as string)
    .sort();
}
