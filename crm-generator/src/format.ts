// Date formats of the Salesforce REST/Bulk API and of the non-Salesforce feeds.

export const DAY_MS = 86_400_000;

/** '2026-01-31T09:15:00.000+0000' */
export function sfDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + '+0000';
}

/** 'YYYY-MM-DD' (UTC) */
export function sfDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** ISO 8601 UTC with Z, millisecond precision. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses both '…+0000' Salesforce datetimes and ISO strings. */
export function parseDateTime(value: string): number {
  const ms = Date.parse(value.replace(/\+0000$/, 'Z'));
  if (Number.isNaN(ms)) throw new Error(`invalid datetime: ${value}`);
  return ms;
}

export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
