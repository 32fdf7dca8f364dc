// Stands in for fields Salesforce computes on save (Name, Opportunity IsClosed/IsWon/Probability, Task IsClosed, ...).
import type { StoredValue } from './values.js';

/** Row being written: column name (describe case) → stored value. */
export type Row = Map<string, StoredValue>;

const CLOSED_STAGES: Record<string, { won: boolean; probability: number }> = {
  'Closed Won': { won: true, probability: 100 },
  'Closed Lost': { won: false, probability: 0 },
};
const STAGE_PROBABILITY: Record<string, number> = {
  Prospecting: 10,
  Qualification: 10,
  'Needs Analysis': 20,
  'Value Proposition': 50,
  'Id. Decision Makers': 60,
  'Perception Analysis': 70,
  'Proposal/Price Quote': 75,
  'Negotiation/Review': 90,
};

/** Columns a derivation reads from the stored record when an update does not carry them. */
export const DERIVATION_INPUTS: Record<string, string[]> = {
  Lead: ['FirstName', 'LastName'],
  User: ['FirstName', 'LastName'],
  Opportunity: ['StageName'],
  Task: ['Status', 'Priority', 'CompletedDateTime'],
};

function fullName(row: Row, existing: Record<string, unknown> | undefined): StoredValue {
  const pick = (k: string) => (row.has(k) ? row.get(k) : (existing?.[k] as StoredValue | undefined)) ?? null;
  const first = pick('FirstName');
  const last = pick('LastName');
  return [first, last].filter((p) => p !== null && p !== '').join(' ') || null;
}

/**
 * Sets the fields Salesforce computes (Lead/User Name, Opportunity IsClosed/IsWon/Probability,
 * Task IsClosed/CompletedDateTime/IsHighPriority). `existing` is the stored row on update.
 */
export function applyDerivedFields(
  object: string,
  row: Row,
  existing: Record<string, unknown> | undefined,
  now: string,
  isSeed: boolean,
): void {
  switch (object) {
    case 'Lead':
    case 'User':
      if (row.has('FirstName') || row.has('LastName')) row.set('Name', fullName(row, existing));
      if (object === 'User' && !existing && !row.get('Alias')) {
        const base = String(row.get('LastName') ?? 'user');
        row.set('Alias', base.slice(0, 8));
      }
      break;
    case 'Opportunity': {
      if (!row.has('StageName')) break;
      const stage = String(row.get('StageName') ?? '');
      const closed = CLOSED_STAGES[stage];
      if (!(isSeed && row.has('IsClosed'))) row.set('IsClosed', closed ? 1 : 0);
      if (!(isSeed && row.has('IsWon'))) row.set('IsWon', closed?.won ? 1 : 0);
      if (!row.has('Probability') || row.get('Probability') === null) {
        row.set('Probability', closed?.probability ?? STAGE_PROBABILITY[stage] ?? null);
      }
      if (!(isSeed && row.has('ForecastCategory'))) {
        row.set('ForecastCategory', closed ? (closed.won ? 'Closed' : 'Omitted') : 'Pipeline');
      }
      break;
    }
    case 'Task': {
      if (row.has('Priority')) row.set('IsHighPriority', row.get('Priority') === 'High' ? 1 : 0);
      if (!row.has('Status')) break;
      const completed = row.get('Status') === 'Completed';
      row.set('IsClosed', completed ? 1 : 0);
      if (!(isSeed && row.has('CompletedDateTime'))) {
        const previous = (existing?.CompletedDateTime as StoredValue | undefined) ?? null;
        row.set('CompletedDateTime', completed ? (previous ?? now) : null);
      }
      break;
    }
  }
}
