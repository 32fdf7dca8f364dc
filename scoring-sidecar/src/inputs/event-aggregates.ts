// Near-real-time aggregates of a lead's engagement, updated one event at a time. The online store and the
// offline training-set builder both fold events through `apply`, so both see exactly the same numbers.
import { EVENT_TYPES, type EventType, utcDay } from './events.js';

/** Longest window any feature reads; older day buckets are dropped. */
export const MAX_WINDOW_DAYS = 30;

interface TypeAggregate {
  total: number;
  lastAt: number | null; // epoch ms of the latest event seen
  days: Record<string, number>; // UTC day index -> count, only the last MAX_WINDOW_DAYS days
}

export interface EventAggregatesJson {
  v: 1;
  types: Partial<Record<EventType, TypeAggregate>>;
}

export class EventAggregates {
  private readonly types = new Map<EventType, TypeAggregate>();

  static fromJSON(json: EventAggregatesJson | null | undefined): EventAggregates {
    const agg = new EventAggregates();
    for (const type of EVENT_TYPES) {
      const t = json?.types[type];
      if (t) agg.types.set(type, { total: t.total, lastAt: t.lastAt, days: { ...t.days } });
    }
    return agg;
  }

  toJSON(): EventAggregatesJson {
    return { v: 1, types: Object.fromEntries(this.types) };
  }

  /** Folds one event in. Order does not matter: late events land in the bucket of their own day. */
  apply(type: EventType, occurredAtMs: number): void {
    let t = this.types.get(type);
    if (!t) this.types.set(type, (t = { total: 0, lastAt: null, days: {} }));
    t.total += 1;
    if (t.lastAt === null || occurredAtMs > t.lastAt) t.lastAt = occurredAtMs;
    const day = utcDay(occurredAtMs);
    t.days[day] = (t.days[day] ?? 0) + 1;
    // Prune relative to the newest bucket: a window ending at or after it never needs older days.
    const newest = utcDay(t.lastAt);
    for (const key of Object.keys(t.days)) {
      if (Number(key) <= newest - MAX_WINDOW_DAYS) delete t.days[key];
    }
  }

  /** Events of `type` on the `windowDays` UTC days ending with the day of `asOfMs` (inclusive). */
  countInWindow(type: EventType, windowDays: number, asOfMs: number): number {
    if (windowDays > MAX_WINDOW_DAYS)
      throw new Error(`windows longer than ${MAX_WINDOW_DAYS} days are not kept`);
    const t = this.types.get(type);
    if (!t) return 0;
    const last = utcDay(asOfMs);
    let n = 0;
    for (let d = last - windowDays + 1; d <= last; d++) n += t.days[d] ?? 0;
    return n;
  }

  total(type: EventType): number {
    return this.types.get(type)?.total ?? 0;
  }

  lastAt(type?: EventType): number | null {
    if (type) return this.types.get(type)?.lastAt ?? null;
    let latest: number | null = null;
    for (const t of this.types.values())
      if (t.lastAt !== null && (latest === null || t.lastAt > latest)) latest = t.lastAt;
    return latest;
  }
}
