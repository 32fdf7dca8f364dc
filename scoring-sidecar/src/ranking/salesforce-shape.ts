// The item shape WorklistController.cls reads: reasons as "+ …"/"- …" strings, the next-best action as its label.
import type { WorklistItem } from './types.js';

export interface SalesforceWorklistItem {
  leadId: string;
  rank: number;
  score: number;
  band: string;
  source: 'model' | 'rules';
  reasons: string[];
  nextBestAction: string | null;
}

export function toSalesforceWorklistItem(item: WorklistItem): SalesforceWorklistItem {
  return {
    leadId: item.leadId,
    rank: item.rank,
    score: item.score,
    band: item.band,
    source: item.source,
    reasons: item.reasons.map((r) => `${r.direction === 'positive' ? '+' : '-'} ${r.text}`),
    nextBestAction: item.nextBestAction?.label ?? null,
  };
}
