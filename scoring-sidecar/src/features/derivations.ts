// Non-identifying readings of PII or free text, and the calendar: the only computations a feature spec may
// apply to a sensitive field, shared by the spec interpreter (and nothing else computes features). The free-mail
// reading is in inputs/free-mail.ts, below the store, which keeps only that flag of an email.
import { DAY_MS } from '../inputs/index.js';

export function daysSince(ms: number | null, asOfMs: number): number | null {
  return ms === null ? null : (asOfMs - ms) / DAY_MS;
}

const SENIORITY: [RegExp, string][] = [
  [/\b(chief|ceo|cfo|cto|cio|coo|cmo|cro|founder|owner|president|partner)\b/i, 'executive'],
  [/\b(vp|svp|evp|vice president|head of)\b/i, 'vp'],
  [/\b(director)\b/i, 'director'],
  [/\b(manager|lead|supervisor)\b/i, 'manager'],
  [/\b(student|intern|unemployed)\b/i, 'student'],
];

/** Seniority bucket from a job title: a coarse, non-identifying reading of free text. */
export function titleSeniority(title: string | null): string | null {
  if (!title) return null;
  for (const [pattern, level] of SENIORITY) if (pattern.test(title)) return level;
  return 'individual';
}

export const CALENDAR = {
  days_to_quarter_end: {
    description: 'days until the end of the calendar quarter',
    compute: (t: number): number => {
      const d = new Date(t);
      const quarterEnd = Date.UTC(d.getUTCFullYear(), Math.floor(d.getUTCMonth() / 3) * 3 + 3, 1);
      return Math.floor((quarterEnd - t) / DAY_MS);
    },
  },
  day_of_year: {
    description: 'day of the year (UTC)',
    compute: (t: number): number =>
      Math.floor((t - Date.UTC(new Date(t).getUTCFullYear(), 0, 1)) / DAY_MS) + 1,
  },
} as const;
export type CalendarFeature = keyof typeof CALENDAR;
