// Stands in for Salesforce's record-Id and auto-number counters; persisted so a reopened org continues them.
import type Database from 'better-sqlite3';
import type { FieldDescribe } from '../schema/index.js';
import type { StatementCache } from './statements.js';

/**
 * Next numbers per key (`<Object>` for generated Ids, `<Object>.autonumber` for auto-number fields), kept in
 * memory and written to `_sim_sequences` inside the write call's transaction.
 */
export class Sequences {
  private readonly next = new Map<string, number>();

  constructor(
    db: Database.Database,
    private readonly statements: StatementCache,
    objects: string[],
  ) {
    db.exec('CREATE TABLE IF NOT EXISTS _sim_sequences (object TEXT PRIMARY KEY, next INTEGER NOT NULL)');
    const read = db.prepare('SELECT next FROM _sim_sequences WHERE object = ?');
    for (const object of objects) {
      const seq = read.get(object) as { next: number } | undefined;
      this.next.set(object, seq?.next ?? 1);
    }
  }

  /** Takes the next number of `key`. */
  take(key: string): number {
    const n = this.next.get(key) ?? 1;
    this.next.set(key, n + 1);
    return n;
  }

  save(keys: string[]): void {
    const upsert = this.statements.get(
      'INSERT INTO _sim_sequences (object, next) VALUES (?, ?) ON CONFLICT(object) DO UPDATE SET next = excluded.next',
    );
    for (const k of keys) upsert.run(k, this.next.get(k) ?? 1);
  }
}

/** An auto-number field's display format (`A-{0000}`) applied to `n`. */
export function formatAutoNumber(field: FieldDescribe, n: number): string {
  const format = field.calculatedFormula ?? '{0}';
  return format.replace(/\{(0+)\}/, (_m, zeros: string) => String(n).padStart(zeros.length, '0'));
}
