// A rep's worklist from scored candidates: p(convert) × expected value, then, in order, the speed-to-lead boost,
// the per-account cap, the daily capacity and the exploration slots. See docs/ranking.md.
import { createHash } from 'node:crypto';
import { ineligibility } from './candidates.js';
import type { RankingConfig } from './config.js';
import { dealSizeOf, formatMoney } from './expected-value.js';
import type { RankedWorklist, ScoredCandidate, WorklistItem } from './types.js';

const MINUTE = 60_000;

interface Ranked {
  candidate: ScoredCandidate;
  expectedValue: number;
  priority: number;
  uncertainty: number;
  boosted: boolean;
  exploration: boolean;
  why: string[];
}

/**
 * A seeded stream in [0, 1): the same rep and UTC day give the same exploration picks all day.
 * Hand-written from sha256(seed:counter) because a seedable stream needs no PRNG dependency.
 */
export function explorationRng(repId: string, now: Date): () => number {
  const seed = `${repId}|${now.toISOString().slice(0, 10)}`;
  let counter = 0;
  return () => createHash('sha256').update(`${seed}:${counter++}`).digest().readUInt32BE(0) / 2 ** 32;
}

export function uncertaintyOf(candidate: ScoredCandidate): number {
  return candidate.uncertainty ?? 1 - Math.abs(2 * candidate.probability - 1);
}

const ordinal = (n: number) =>
  `${n}${n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')}`;

function byPriority(a: Ranked, b: Ranked): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const x = a.candidate.lead.leadId;
  const y = b.candidate.lead.leadId;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Minutes left in the response SLA of a new, untouched inbound lead; null when the boost does not apply. */
function slaMinutesLeft(candidate: ScoredCandidate, config: RankingConfig, now: Date): number | null {
  const lead = candidate.lead;
  if (!lead.isInbound) return null;
  const created = Date.parse(lead.createdAt);
  if (lead.lastTouchAt !== null && Date.parse(lead.lastTouchAt) >= created) return null;
  const age = now.getTime() - created;
  const sla = config.speedToLead.slaMinutes * MINUTE;
  if (!(age >= 0 && age <= sla)) return null;
  return Math.floor((sla - age) / MINUTE);
}

/** At most `maxPerAccount` leads of one account in the top K; the leads over it move just below the top K. */
function capPerAccount(sorted: Ranked[], config: RankingConfig): Ranked[] {
  const { maxPerAccount, topK } = config.accountCap;
  const top: Ranked[] = [];
  const rest: Ranked[] = [];
  const perAccount = new Map<string, number>();
  for (const item of sorted) {
    const account = item.candidate.lead.accountKey;
    if (top.length >= topK || account === null) {
      (top.length >= topK ? rest : top).push(item);
      continue;
    }
    const n = (perAccount.get(account) ?? 0) + 1;
    perAccount.set(account, n);
    if (n <= maxPerAccount) top.push(item);
    else {
      item.why.push(
        `${ordinal(n)} lead of account ${account} within the top ${topK} (max ${maxPerAccount}): capped, moved below it`,
      );
      rest.push(item);
    }
  }
  // `rest` was filled in priority order, so the capped leads lead it ahead of the lower unvisited ones.
  return [...top, ...rest];
}

function accountCountInTop(list: Ranked[], topK: number, account: string): number {
  let n = 0;
  for (const item of list.slice(0, topK)) if (item.candidate.lead.accountKey === account) n++;
  return n;
}

/** Fills every n-th position with a random uncertain lead from below it, keeping the list at capacity. */
function explore(list: Ranked[], overflow: Ranked[], config: RankingConfig, rng: () => number): void {
  const { every, minUncertainty } = config.exploration;
  const { maxPerAccount, topK } = config.accountCap;
  if (every === 0) return;
  for (let slot = every; slot <= list.length; slot += every) {
    const below = [...list.slice(slot), ...overflow];
    const pool = below.filter((item) => {
      if (item.boosted || item.exploration || item.uncertainty < minUncertainty) return false;
      const account = item.candidate.lead.accountKey;
      if (account === null || slot > topK) return true;
      // the top K after the move: positions above the slot, the lead, then the rest shifted down one
      const after = [...list.slice(0, slot - 1), item, ...list.slice(slot - 1).filter((x) => x !== item)];
      return accountCountInTop(after, topK, account) <= maxPerAccount;
    });
    if (pool.length === 0) continue;
    const chosen = pool[Math.min(Math.floor(rng() * pool.length), pool.length - 1)]!;
    const inList = list.indexOf(chosen);
    const from = inList >= 0 ? inList + 1 : list.length + overflow.indexOf(chosen) + 1;
    if (inList >= 0) list.splice(inList, 1);
    else {
      overflow.splice(overflow.indexOf(chosen), 1);
      overflow.unshift(list.pop()!); // the list stays at capacity: its last lead drops out
    }
    list.splice(slot - 1, 0, chosen);
    chosen.exploration = true;
    chosen.why.unshift(
      `exploration slot (every ${ordinal(every)} position): uncertain score (p ${chosen.candidate.probability.toFixed(2)}), up from rank ${from}`,
    );
  }
}

function toItem(r: Ranked, rank: number): WorklistItem {
  const c = r.candidate;
  return {
    rank,
    leadId: c.lead.leadId,
    score: c.score,
    band: c.band,
    probability: c.probability,
    expectedValue: r.expectedValue,
    priority: r.priority,
    source: c.source,
    reasons: c.reasons,
    nextBestAction: c.nextBestAction,
    exploration: r.exploration,
    why: r.why,
  };
}

export function rankWorklist(
  candidates: ScoredCandidate[],
  config: RankingConfig,
  now: Date,
  rng: () => number = explorationRng('', now),
): RankedWorklist {
  const closed = new Set(config.candidates.closedStatuses);
  const excluded: RankedWorklist['excluded'] = [];
  const seen = new Set<string>();
  const ranked: Ranked[] = [];
  const currency = config.expectedValue.currency;
  for (const candidate of candidates) {
    const leadId = candidate.lead.leadId;
    const notListed = seen.has(leadId) ? 'duplicate candidate' : ineligibility(candidate.lead, closed);
    seen.add(leadId);
    if (notListed !== null) {
      excluded.push({ leadId, why: notListed });
      continue;
    }
    const { dealSize, basis } = dealSizeOf(candidate.lead, config);
    const expectedValue = candidate.probability * dealSize;
    const minutesLeft = slaMinutesLeft(candidate, config, now);
    const boosted = minutesLeft !== null;
    const why = [
      `p(convert) ${candidate.probability.toFixed(2)} × value ${formatMoney(dealSize, currency)} (${basis}) = ${formatMoney(expectedValue, currency)} expected`,
    ];
    if (boosted)
      why.unshift(
        `new inbound lead inside its ${config.speedToLead.slaMinutes}-min response SLA (${minutesLeft} min left): boosted ×${config.speedToLead.multiplier}`,
      );
    ranked.push({
      candidate,
      expectedValue,
      priority: expectedValue * (boosted ? config.speedToLead.multiplier : 1),
      uncertainty: uncertaintyOf(candidate),
      boosted,
      exploration: false,
      why,
    });
  }

  const ordered = capPerAccount(ranked.sort(byPriority), config);
  const capacity = config.capacity.dailyLeads;
  const list = ordered.slice(0, capacity);
  const overflow = ordered.slice(capacity);
  explore(list, overflow, config, rng);

  list.forEach((item, i) => {
    const neighbours = [list[i - 1], list[i + 1]].filter((n) => n && !n.exploration && !item.exploration);
    if (neighbours.some((n) => n!.priority === item.priority))
      item.why.push('tied on priority: ordered by lead Id');
  });
  overflow.forEach((item, i) =>
    excluded.push({
      leadId: item.candidate.lead.leadId,
      why: `beyond the daily capacity of ${capacity} leads (would rank ${capacity + i + 1})`,
    }),
  );
  return { items: list.map((item, i) => toItem(item, i + 1)), excluded };
}
